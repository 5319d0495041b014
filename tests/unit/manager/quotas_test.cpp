// The quota rules (manager/quotas.hpp): which limits are in force for a user, and what each refuses.
#include "manager/quotas.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/store_url.hpp"

namespace inferix::manager {
namespace {

using ::testing::HasSubstr;

domain::User Plain() {
  domain::User u;
  u.id = 1;
  u.name = "pat";
  return u;
}

TEST(QuotasTest, TheUsersOwnLimitsReplaceTheDefaultsOneByOne) {
  QuotaDefaults d;
  d.max_priority = 2;
  d.stored_bytes = 1000;
  d.active_jobs = 3;
  domain::User u = Plain();
  u.limits.stored_bytes = 0;  // no limit for this user
  u.limits.active_jobs = 10;
  const Limits l = LimitsOf(u, d);
  EXPECT_EQ(l.max_priority, 2);
  EXPECT_FALSE(l.any_priority);
  EXPECT_EQ(l.stored_bytes, 0);
  EXPECT_EQ(l.active_jobs, 10);
  EXPECT_EQ(l.frames_per_job, d.frames_per_job);
  u.role = domain::UserRole::kOperator;
  EXPECT_TRUE(LimitsOf(u, d).any_priority);
}

TEST(QuotasTest, ThePriorityAboveTheUsersMaximumIsRefusedWith403) {
  Limits l;
  l.max_priority = 0;
  EXPECT_TRUE(CheckPriority(l, 0).ok());
  EXPECT_TRUE(CheckPriority(l, -5).ok());
  auto r = CheckPriority(l, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  EXPECT_THAT(r.error().message, HasSubstr("priority 1 is above the highest you may give, 0"));
  l.max_priority = 10;
  EXPECT_TRUE(CheckPriority(l, 10).ok());
  EXPECT_FALSE(CheckPriority(l, 11).ok());
  l.any_priority = true;
  EXPECT_TRUE(CheckPriority(l, 1'000'000).ok());
}

TEST(QuotasTest, ANewJobPastALimitIsRefusedNamingTheLimit) {
  Limits l;
  l.frames_per_job = 100;
  l.active_jobs = 2;
  l.frames_in_flight = 150;
  domain::UserUsage usage;
  EXPECT_TRUE(CheckNewJob(l, usage, 100).ok());
  auto r = CheckNewJob(l, usage, 101);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  EXPECT_THAT(r.error().message, HasSubstr("limit of 100 frames per job"));

  usage.active_jobs = 2;
  r = CheckNewJob(l, usage, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("the limit of active jobs is 2"));

  usage.active_jobs = 1;
  usage.frames_in_flight = 100;
  EXPECT_TRUE(CheckNewJob(l, usage, 50).ok());
  r = CheckNewJob(l, usage, 51);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("limit of frames in flight, 150"));
}

TEST(QuotasTest, ZeroMeansNoLimit) {
  Limits l;  // every limit 0
  domain::UserUsage usage{int64_t{1} << 50, 1'000'000, 1'000'000'000};
  EXPECT_TRUE(CheckNewJob(l, usage, 100'000).ok());
  EXPECT_TRUE(CheckUpload(l, usage, int64_t{1} << 40).ok());
}

TEST(QuotasTest, AnUploadPastTheStoredBytesQuotaIsRefusedNamingQuotaAndUsage) {
  Limits l;
  l.stored_bytes = 10 << 20;
  domain::UserUsage usage;
  usage.stored_bytes = 9 << 20;
  EXPECT_TRUE(CheckUpload(l, usage, 1 << 20).ok());
  auto r = CheckUpload(l, usage, (1 << 20) + 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  EXPECT_THAT(r.error().message, HasSubstr("stored-bytes quota of 10.0 MiB"));
  EXPECT_THAT(r.error().message, HasSubstr("use 9.0 MiB already"));
}

TEST(QuotasTest, AllowUploadCountsAFileTheUserHasAsFree) {
  auto store = store::OpenStore("sqlite::memory:");
  ASSERT_TRUE(store.ok()) << store.error().message;
  domain::Store& s = **store;
  domain::User u = Plain();
  u.id = *s.CreateUser("pat", "hash");
  ASSERT_TRUE(s.AddUserFile(u.id, std::string(64, 'a'), 900).ok());
  QuotaDefaults d;
  d.stored_bytes = 1000;
  EXPECT_TRUE(AllowUpload(s, u, d, std::string(64, 'a'), 900).ok());  // has it: costs nothing
  EXPECT_TRUE(AllowUpload(s, u, d, std::string(64, 'b'), 100).ok());
  EXPECT_FALSE(AllowUpload(s, u, d, std::string(64, 'b'), 101).ok());
}

TEST(QuotasTest, AllowNewJobChecksPriorityAndFramesOfTheSpec) {
  auto store = store::OpenStore("sqlite::memory:");
  ASSERT_TRUE(store.ok()) << store.error().message;
  domain::Store& s = **store;
  domain::User u = Plain();
  u.id = *s.CreateUser("pat", "hash");
  QuotaDefaults d;
  d.frames_per_job = 10;
  domain::Job job;
  job.frames_spec = "1-10";
  EXPECT_TRUE(AllowNewJob(s, u, d, job).ok());
  job.frames_spec = "1-11";
  auto r = AllowNewJob(s, u, d, job);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("11 frames"));
  job.frames_spec = "1-5";
  job.priority = 1;
  r = AllowNewJob(s, u, d, job);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  u.limits.max_priority = 1;
  EXPECT_TRUE(AllowNewJob(s, u, d, job).ok());
  job.frames_spec = "not a spec";  // the compiler's error, not a quota's
  EXPECT_TRUE(AllowNewJob(s, u, d, job).ok());
}

}  // namespace
}  // namespace inferix::manager
