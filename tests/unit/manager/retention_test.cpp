// The retention rules (manager/retention.hpp) with a fake clock, a real in-memory SQLite store and the file
// object store in a temporary folder; the data folder's and database's permissions; the session cap.
#include "manager/retention.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "blob/fs_blob_store.hpp"
#include "core/crypto.hpp"
#include "domain/object_keys.hpp"
#include "domain/tokens.hpp"
#include "manager/sessions.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_url.hpp"

namespace inferix::manager {
namespace {

namespace fs = std::filesystem;
using domain::Job;
using domain::JobState;
using domain::Output;
using domain::Verdict;
using ::testing::IsEmpty;

constexpr int64_t kDayMs = int64_t{86400} * 1000;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferix_retention_test_" + RandomHex(8));
    auto s = store::OpenSqliteStore(":memory:");
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
    auto b = blob::OpenFsObjectStore(dir_ / "blobs", std::string(32, 's'), std::make_shared<SystemClock>());
    ASSERT_TRUE(b.ok()) << b.error().message;
    blobs_ = std::move(*b);
    alice_ = *store_->CreateUser("alice", "hash-alice");
    bob_ = *store_->CreateUser("bob", "hash-bob");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  RetentionCounts Round(RetentionOptions options) {
    Retention r(*store_, *blobs_, clock_, options,
                [](const std::function<Result<void>()>& fn) { return fn(); });
    return r.RunRound();
  }

  // A job of `user` in `state`, finished `age_ms` ago, with one frame whose output (an object, and its
  // thumbnail) has `verdict`.
  struct Made {
    int64_t job = 0;
    int64_t output = 0;
    std::string blob_key;
    std::string preview_key;
  };
  Made MakeJob(int64_t user, JobState state, int64_t age_ms, Verdict verdict = Verdict::kAccepted,
               bool delivered = true) {
    Made m;
    Job j;
    j.user_id = user;
    j.name = "shot";
    j.main_file = "shot.blend";
    j.frames_spec = "1";
    j.chunk_size = 1;
    j.state = state;
    j.created_ms = clock_.NowMs() - age_ms - 1000;
    j.finished_ms = state == JobState::kActive ? 0 : clock_.NowMs() - age_ms;
    m.job = *store_->CreateJob(j);
    domain::Task t;
    t.job_id = m.job;
    t.frames = {1};
    t.state = domain::TaskState::kDone;
    t.created_ms = j.created_ms;
    const int64_t task = *store_->CreateTask(t);
    Output o;
    o.job_id = m.job;
    o.frame = 1;
    o.task_id = task;
    o.node_id = 1;
    o.blob_key = domain::OutputKey(m.job, task, 1, RandomHex(4));
    o.preview_key = domain::PreviewKey(m.job, 1, 1);
    o.sha256 = Sha256Hex(o.blob_key);
    o.verdict = verdict;
    o.created_ms = clock_.NowMs() - age_ms;
    m.output = *store_->CreateOutput(o);
    m.blob_key = o.blob_key;
    m.preview_key = o.preview_key;
    domain::Frame f;
    f.job_id = m.job;
    f.number = 1;
    f.output_id = delivered ? m.output : 0;
    EXPECT_TRUE(store_->PutFrame(f).ok());
    EXPECT_TRUE(blobs_->Put(m.blob_key, "frame").ok());
    EXPECT_TRUE(blobs_->Put(m.preview_key, "thumb").ok());
    EXPECT_TRUE(store_->AppendEvent({0, user, m.job, "job", "{}", clock_.NowMs() - age_ms}).ok());
    return m;
  }

  bool Exists(const std::string& key) { return blobs_->Stat(key)->has_value(); }

  fs::path dir_;
  FakeClock clock_{SystemClock().NowMs()};
  std::unique_ptr<domain::Store> store_;
  std::unique_ptr<blob::FsObjectStore> blobs_;
  int64_t alice_ = 0;
  int64_t bob_ = 0;
};

TEST_F(RetentionTest, OldEndedJobsGoWithTheirRowsAndObjectsAndLiveOnesStay) {
  const Made old_job = MakeJob(alice_, JobState::kCompleted, 31 * kDayMs);
  const Made recent = MakeJob(alice_, JobState::kCompleted, 29 * kDayMs);
  const Made bobs_live = MakeJob(bob_, JobState::kActive, 40 * kDayMs);
  ASSERT_TRUE(blobs_->Put(domain::VideoKey(old_job.job), "mp4").ok());
  Job j = **store_->GetJob(old_job.job);
  j.video_state = "ready";
  j.video_key = domain::VideoKey(old_job.job);
  ASSERT_TRUE(store_->UpdateJob(j).ok());

  RetentionOptions options;
  options.keep_events_s = 0;
  const RetentionCounts counts = Round(options);

  EXPECT_EQ(counts.jobs, 1);
  EXPECT_EQ(counts.job_objects, 3);
  EXPECT_FALSE(store_->GetJob(old_job.job)->has_value());
  EXPECT_FALSE(Exists(old_job.blob_key));
  EXPECT_FALSE(Exists(old_job.preview_key));
  EXPECT_FALSE(Exists(domain::VideoKey(old_job.job)));
  for (const Made& kept : {recent, bobs_live}) {
    EXPECT_TRUE(store_->GetJob(kept.job)->has_value());
    EXPECT_EQ(store_->ListOutputs(kept.job)->size(), 1u);
    EXPECT_TRUE(Exists(kept.blob_key));
    EXPECT_TRUE(Exists(kept.preview_key));
  }
}

TEST_F(RetentionTest, ZeroKeepsJobsForever) {
  const Made old_job = MakeJob(alice_, JobState::kFailed, 400 * kDayMs);
  RetentionOptions options;
  options.keep_jobs_s = 0;
  options.keep_events_s = 0;
  EXPECT_EQ(Round(options).jobs, 0);
  EXPECT_TRUE(store_->GetJob(old_job.job)->has_value());
  EXPECT_TRUE(Exists(old_job.blob_key));
}

TEST_F(RetentionTest, RoundsRemoveJobsInBatches) {
  for (int i = 0; i < 3; ++i) MakeJob(alice_, JobState::kCanceled, 31 * kDayMs);
  RetentionOptions options;
  options.batch = 2;
  EXPECT_EQ(Round(options).jobs, 2);
  EXPECT_EQ(Round(options).jobs, 1);
  EXPECT_EQ(Round(options).jobs, 0);
  EXPECT_THAT(*store_->ListJobs(alice_), IsEmpty());
}

TEST_F(RetentionTest, RejectedOutputsLoseTheirObjectsAfterTheShorterTime) {
  // In a live job, a frame's rejected render no frame delivers any more.
  const Made old_rejected = MakeJob(alice_, JobState::kActive, 8 * kDayMs, Verdict::kRejected, false);
  const Made new_rejected = MakeJob(alice_, JobState::kActive, 6 * kDayMs, Verdict::kRejected, false);
  RetentionOptions options;
  const RetentionCounts counts = Round(options);
  EXPECT_EQ(counts.rejected_objects, 2);
  EXPECT_FALSE(Exists(old_rejected.blob_key));
  EXPECT_FALSE(Exists(old_rejected.preview_key));
  const Output row = **store_->GetOutput(old_rejected.output);  // the verdict's record stays
  EXPECT_EQ(row.verdict, Verdict::kRejected);
  EXPECT_EQ(row.blob_key, "");
  EXPECT_TRUE(Exists(new_rejected.blob_key));
  EXPECT_EQ(Round(options).rejected_objects, 0);
}

TEST_F(RetentionTest, OldEventsAndExpiredSessionsGo) {
  ASSERT_TRUE(store_->AppendEvent({0, alice_, 0, "job", "{}", clock_.NowMs() - 31 * kDayMs}).ok());
  const int64_t kept = *store_->AppendEvent({0, alice_, 0, "job", "{}", clock_.NowMs() - 1000});
  ASSERT_TRUE(store_->CreateSession("ended", alice_, clock_.NowMs() - 1).ok());
  ASSERT_TRUE(store_->CreateSession("live", alice_, clock_.NowMs() + 60'000).ok());
  const RetentionCounts counts = Round(RetentionOptions{});
  EXPECT_EQ(counts.events, 1);
  EXPECT_EQ(counts.sessions, 1);
  EXPECT_GT(*store_->EventsRemovedThrough(), 0);
  ASSERT_EQ(store_->ListEvents(alice_, 0, 0, 10, false)->size(), 1u);
  EXPECT_EQ(store_->ListEvents(alice_, 0, 0, 10, false)->front().id, kept);
  EXPECT_TRUE(store_->FindUserBySession("live", clock_.NowMs())->has_value());
  EXPECT_EQ(*store_->DeleteExpiredSessions(clock_.NowMs(), 10), 0);  // the round took the ended one
}

TEST_F(RetentionTest, UploadsNoOutputRecordsGoOnceOlderThanTheGrace) {
  const Made live = MakeJob(alice_, JobState::kActive, 0);
  const std::string stray_old = domain::OutputKey(live.job, 99, 1, "aaaa");
  const std::string stray_new = domain::OutputKey(live.job, 99, 2, "bbbb");
  ASSERT_TRUE(blobs_->Put(stray_old, "junk").ok());
  ASSERT_TRUE(blobs_->Put(stray_new, "junk").ok());
  // Written three hours ago: the stray one and the recorded one (the file adapter keeps keys as paths).
  const auto then = fs::file_time_type::clock::now() - std::chrono::hours(3);
  fs::last_write_time(dir_ / "blobs" / stray_old, then);
  fs::last_write_time(dir_ / "blobs" / live.blob_key, then);
  RetentionOptions options;
  options.orphan_after_s = 2 * 3600;
  options.batch = 1;  // pages of 10: the scan still covers every object in one round here
  EXPECT_EQ(Round(options).orphans, 1);
  EXPECT_FALSE(Exists(stray_old));
  EXPECT_TRUE(Exists(stray_new));
  EXPECT_TRUE(Exists(live.blob_key));
  clock_.Advance(3 * 3600 * 1000);
  EXPECT_EQ(Round(options).orphans, 1);
  EXPECT_FALSE(Exists(stray_new));
  EXPECT_TRUE(Exists(live.blob_key));
}

TEST_F(RetentionTest, TheOrphanScanGoesOnPageByPage) {
  const Made live = MakeJob(alice_, JobState::kActive, 0);
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(blobs_->Put(domain::OutputKey(live.job, 99, i, "cc"), "x").ok());
  clock_.Advance(3 * 3600 * 1000);
  RetentionOptions options;
  options.batch = 1;  // pages of 10 objects: the recorded frame sorts first, then 9 strays; then 6
  EXPECT_EQ(Round(options).orphans, 9);
  EXPECT_EQ(Round(options).orphans, 6);
  EXPECT_TRUE(Exists(live.blob_key));
  EXPECT_EQ(blobs_->List("outputs/", "", 100)->size(), 1u);
}

TEST_F(RetentionTest, DataFolderIsMadePrivateAndScratchIsEmptied) {
  const fs::path data = dir_ / "data";
  const mode_t old_mask = ::umask(022);
  fs::create_directories(data / "tmp" / "video-1");
  fs::create_directories(data / "spool");
  { std::ofstream(data / "spool" / "body-1") << "half"; }
  { std::ofstream(data / "url-secret") << "keep"; }
  ASSERT_TRUE(PrepareDataFolder(data).ok());
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(fs::is_empty(data / "tmp"));
  EXPECT_TRUE(fs::is_empty(data / "spool"));
  EXPECT_TRUE(fs::exists(data / "url-secret"));
  const fs::path fresh = dir_ / "fresh" / "data";
  ASSERT_TRUE(PrepareDataFolder(fresh).ok());
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ::umask(old_mask);
}

TEST_F(RetentionTest, DatabaseAndItsJournalFilesArePrivate) {
  const mode_t old_mask = ::umask(022);
  const fs::path db = dir_ / "db" / "manager.db";
  {
    auto s = store::OpenStore("sqlite:" + db.string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_TRUE((*s)->CreateUser("carol", "hash-carol").ok());  // a write makes the -wal and -shm files
    for (const char* suffix : {"", "-wal", "-shm"}) {
      struct stat st {};
      ASSERT_EQ(::stat((db.string() + suffix).c_str(), &st), 0) << suffix;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << suffix;
    }
  }
  // A database made earlier with wider bits is tightened.
  ASSERT_EQ(::chmod(db.c_str(), 0644), 0);
  ASSERT_TRUE(store::OpenStore("sqlite:" + db.string()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ::umask(old_mask);
}

TEST_F(RetentionTest, ANewSessionBeyondTheCapEndsTheUsersOldest) {
  const std::string token = domain::NewToken(domain::TokenKind::kUser);
  ASSERT_TRUE(store_->CreateUser("dora", domain::TokenHash(token)).ok());
  Sessions sessions(*store_, clock_, false, SessionLimits{3600, 2});
  std::vector<std::string> cookies;
  for (int i = 0; i < 3; ++i) {
    net::HttpRequest req;
    req.method = "POST";
    req.body = nlohmann::json{{"token", token}}.dump();
    req.headers["content-type"] = "application/json";
    const net::HttpResponse r = sessions.SignIn(req);
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string set = r.headers.at("Set-Cookie");
    cookies.push_back(set.substr(set.find('=') + 1, set.find(';') - set.find('=') - 1));
    clock_.Advance(1000);
  }
  auto live = [&](const std::string& cookie) {
    return store_->FindUserBySession(domain::TokenHash(cookie), clock_.NowMs())->has_value();
  };
  EXPECT_FALSE(live(cookies[0]));
  EXPECT_TRUE(live(cookies[1]));
  EXPECT_TRUE(live(cookies[2]));
}

}  // namespace
}  // namespace inferix::manager
