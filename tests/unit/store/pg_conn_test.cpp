// The PostgreSQL connection: URL parsing (no server needed), then statements against the test server.
#include "store/pg_conn.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <cmath>
#include <limits>

#include "pg_test_server.hpp"

namespace inferix::store::pg {
namespace {

using testing::PgServerTest;

TEST(PgUrlTest, TakesOutInferixParametersAndKeepsLibpqs) {
  auto options = ParseUrl(
      "postgresql://u:secret@db.example:5433/inferix?pool=8&statement_timeout_ms=1500&sslmode=disable"
      "&connect_timeout_s=3");
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->pool_size, 8);
  EXPECT_EQ(options->statement_timeout_ms, 1500);
  EXPECT_EQ(options->connect_timeout_s, 3);
  EXPECT_EQ(options->conninfo, "postgresql://u:secret@db.example:5433/inferix?sslmode=disable");
}

TEST(PgUrlTest, DefaultsWhenTheUrlSaysNothing) {
  auto options = ParseUrl("postgres://h/db");
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->pool_size, 4);
  EXPECT_EQ(options->statement_timeout_ms, 30'000);
  EXPECT_EQ(options->connect_timeout_s, 10);
  EXPECT_EQ(options->conninfo, "postgres://h/db");
}

TEST(PgUrlTest, RefusesOtherSchemes) {
  auto options = ParseUrl("mysql://u@h/db");
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.error().code, Errc::kInvalidArgument);
  EXPECT_NE(options.error().message.find("must start with postgresql://"), std::string::npos)
      << options.error().message;
}

TEST(PgUrlTest, RefusesBadValuesNamingTheParameter) {
  for (const std::string param : {"pool=0", "pool=abc", "pool=", "pool=1001", "statement_timeout_ms=-5",
                                  "connect_timeout_s=1.5", "statement_timeout_ms=99999999999"}) {
    auto options = ParseUrl("postgresql://u@h/db?" + param);
    ASSERT_FALSE(options.ok()) << param;
    EXPECT_EQ(options.error().code, Errc::kInvalidArgument);
    EXPECT_NE(options.error().message.find(param.substr(0, param.find('='))), std::string::npos)
        << options.error().message;
    EXPECT_EQ(options.error().message.rfind("database: ", 0), 0U) << options.error().message;
  }
}

TEST(PgUrlTest, RefusesParametersLibpqDoesNotKnow) {
  auto options = ParseUrl("postgresql://u@h/db?pool_size=3");
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.error().code, Errc::kInvalidArgument);
  EXPECT_NE(options.error().message.find("pool_size"), std::string::npos) << options.error().message;
}

TEST(PgUrlTest, MessagesNeverShowThePassword) {
  for (const std::string url :
       {"postgresql://u:hunter2@h/db?pool=x", "postgresql://u:hunter2@[::1/db",
        "postgresql://u@h/db?password=hunter2&pool=0", "postgresql://u:hunter2@h/db?x=1"}) {
    auto options = ParseUrl(url);
    ASSERT_FALSE(options.ok()) << url;
    EXPECT_EQ(options.error().message.find("hunter2"), std::string::npos) << options.error().message;
  }
  auto options = ParseUrl("postgresql://u:hunter2@h/db?pool=x");
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.error().message.find("postgresql://u:***@h/db"), std::string::npos)
      << options.error().message;
}

TEST(PgUrlTest, RedactsKeywordConnectionStrings) {
  EXPECT_EQ(RedactConninfo("host=h password='se cret' dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(RedactConninfo("postgresql://u:p%40ss@h/db?password=x&sslmode=disable"),
            "postgresql://u:***@h/db?password=***&sslmode=disable");
  EXPECT_EQ(RedactConninfo("postgresql://u@h/db"), "postgresql://u@h/db");
}

TEST(PgUrlTest, AnUnreachableServerIsUnavailableWithoutThePassword) {
  // Port 1 on the loopback refuses at once.
  auto options = ParseUrl("postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout_s=2");
  ASSERT_TRUE(options.ok()) << options.error().message;
  auto conn = Conn::Open(*options);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.error().code, Errc::kUnavailable);
  EXPECT_EQ(conn.error().message.rfind("database: cannot connect to postgresql://u:***@127.0.0.1:1/db", 0),
            0U)
      << conn.error().message;
  EXPECT_EQ(conn.error().message.find("hunter2"), std::string::npos) << conn.error().message;
}

using PgConnTest = PgServerTest;

TEST_F(PgConnTest, ParametersAndRowsRoundTrip) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  const int64_t big = std::numeric_limits<int64_t>::max();
  auto rows = conn->Exec(
      "SELECT $1::bigint, $2::double precision, $3::boolean, $4::integer, $5::text, $6::text, $7::bigint, "
      "$8::double precision, $9::double precision, true, $10::text",
      Params()
          .Add(big)
          .Add(0.1)
          .Add(true)
          .Add(false)
          .Add("héllo 'quoted' \\ ;")
          .AddNull()
          .Add(-42)
          .Add(1e300)
          .Add(-std::numeric_limits<double>::infinity())
          .Add(std::string_view("")));
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1);
  EXPECT_EQ(rows->Int(0, 0), big);
  EXPECT_EQ(rows->Real(0, 1), 0.1);
  EXPECT_EQ(rows->Int(0, 2), 1);
  EXPECT_EQ(rows->Int(0, 3), 0);
  EXPECT_EQ(rows->Text(0, 4), "héllo 'quoted' \\ ;");
  EXPECT_TRUE(rows->IsNull(0, 5));
  EXPECT_EQ(rows->Text(0, 5), "");
  EXPECT_EQ(rows->Int(0, 5), 0);
  EXPECT_EQ(rows->Int(0, 6), -42);
  EXPECT_EQ(rows->Real(0, 7), 1e300);
  EXPECT_EQ(rows->Real(0, 8), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(rows->Int(0, 9), 1);
  EXPECT_FALSE(rows->IsNull(0, 10));
  EXPECT_EQ(rows->Text(0, 10), "");
}

TEST_F(PgConnTest, BoolsFitIntegerFlagColumns) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  ASSERT_TRUE(conn->ExecScript("CREATE TABLE f (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                               "flag INTEGER NOT NULL)")
                  .ok());
  auto inserted = conn->Exec("INSERT INTO f (flag) VALUES ($1), ($2)", Params().Add(true).Add(false));
  ASSERT_TRUE(inserted.ok()) << inserted.error().message;
  EXPECT_EQ(inserted->Affected(), 2);
  auto rows = conn->Exec("SELECT flag FROM f ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2);
  EXPECT_EQ(rows->Int(0, 0), 1);
  EXPECT_EQ(rows->Int(1, 0), 0);
}

TEST_F(PgConnTest, AffectedCountsChangedRows) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  ASSERT_TRUE(
      conn->ExecScript("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), "
                       "(2, 'b'), (3, 'c')")
          .ok());
  auto updated = conn->Exec("UPDATE t SET v = $1 WHERE k >= $2", Params().Add("z").Add(2));
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->Affected(), 2);
  auto sum = conn->Exec("SELECT SUM(k), COUNT(*) FROM t");
  ASSERT_TRUE(sum.ok()) << sum.error().message;
  EXPECT_EQ(sum->Int(0, 0), 6);  // SUM of bigints is a numeric
  EXPECT_EQ(sum->Int(0, 1), 3);
}

TEST_F(PgConnTest, UniqueViolationIsInternal) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  ASSERT_TRUE(conn->ExecScript("CREATE TABLE u (k TEXT PRIMARY KEY)").ok());
  ASSERT_TRUE(conn->Exec("INSERT INTO u VALUES ($1)", Params().Add("a")).ok());
  auto again = conn->Exec("INSERT INTO u VALUES ($1)", Params().Add("a"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kInternal);
  EXPECT_EQ(again.error().message.rfind("database: UNIQUE constraint failed: duplicate key value", 0), 0U)
      << again.error().message;
  EXPECT_NE(again.error().message.find("23505"), std::string::npos) << again.error().message;
  EXPECT_TRUE(conn->Healthy());
}

TEST_F(PgConnTest, ForeignKeyViolationIsInternalInSqlitesWords) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  ASSERT_TRUE(conn->ExecScript("CREATE TABLE p (id BIGINT PRIMARY KEY); "
                               "CREATE TABLE c (id BIGINT PRIMARY KEY, p BIGINT NOT NULL REFERENCES p(id))")
                  .ok());
  auto orphan = conn->Exec("INSERT INTO c VALUES (1, $1)", Params().Add(7));
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, Errc::kInternal);
  EXPECT_EQ(orphan.error().message.rfind("database: FOREIGN KEY constraint failed: ", 0), 0U)
      << orphan.error().message;
  EXPECT_NE(orphan.error().message.find("23503"), std::string::npos) << orphan.error().message;
}

TEST_F(PgConnTest, SyntaxErrorIsInternalWithTheServersMessage) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  auto rows = conn->Exec("SELEC 1");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.error().code, Errc::kInternal);
  EXPECT_NE(rows.error().message.find("syntax error at or near \"SELEC\""), std::string::npos)
      << rows.error().message;
  auto script = conn->ExecScript("CREATE TABLE s (k INT); SELEC 2");
  ASSERT_FALSE(script.ok());
  EXPECT_EQ(script.error().code, Errc::kInternal);
  EXPECT_NE(script.error().message.find("syntax error"), std::string::npos) << script.error().message;
  EXPECT_TRUE(conn->Healthy());
}

TEST_F(PgConnTest, NulBytesAreRefusedNotTruncated) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  auto rows = conn->Exec("SELECT $1::text, $2::text", Params().Add("ok").Add(std::string("a\0b", 3)));
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.error().code, Errc::kInvalidArgument);
  EXPECT_NE(rows.error().message.find("$2"), std::string::npos) << rows.error().message;
}

TEST_F(PgConnTest, StatementTimeoutIsUnavailableAndTheConnectionStaysUsable) {
  auto conn = Connect("statement_timeout_ms=200");
  ASSERT_NE(conn, nullptr);
  auto slow = conn->Exec("SELECT pg_sleep(30)");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, Errc::kUnavailable);
  EXPECT_NE(slow.error().message.find("57014"), std::string::npos) << slow.error().message;
  auto after = conn->Exec("SELECT current_setting('statement_timeout'), current_setting('application_name')");
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->Text(0, 0), "200ms");
  EXPECT_EQ(after->Text(0, 1), "inferix");
}

TEST_F(PgConnTest, ListenReceivesAnotherConnectionsNotify) {
  auto listener = Connect();
  auto notifier = Connect();
  ASSERT_NE(listener, nullptr);
  ASSERT_NE(notifier, nullptr);
  ASSERT_TRUE(listener->ExecScript("LISTEN inferix_tasks").ok());
  EXPECT_TRUE(listener->TakeNotifications().empty());
  auto sent = notifier->Exec("SELECT pg_notify('inferix_tasks', $1)", Params().Add("42"));
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  std::vector<std::pair<std::string, std::string>> got;
  for (int i = 0; i < 50 && got.empty(); ++i) {
    pollfd fd{listener->Socket(), POLLIN, 0};
    ASSERT_GE(fd.fd, 0);
    ASSERT_GE(poll(&fd, 1, 200), 0);
    got = listener->TakeNotifications();
  }
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].first, "inferix_tasks");
  EXPECT_EQ(got[0].second, "42");
  EXPECT_TRUE(listener->TakeNotifications().empty());  // consumed
}

}  // namespace
}  // namespace inferix::store::pg
