#pragma once
// The stores the scheduler tests run on: SQLite in memory, and PostgreSQL (a new database per test on the
// server INFERIX_TEST_POSTGRES names, dropped afterwards; ctest's `postgres` fixture writes that file).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "domain/ports.hpp"
#include "store/pg_conn.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_url.hpp"

namespace inferix::manager::scheduler_test {

/// The PostgreSQL test server's URL (its "postgres" database), or "" when INFERIX_TEST_POSTGRES is unset.
inline std::string PgServerUrl() {
  const char* path = std::getenv("INFERIX_TEST_POSTGRES");
  if (path == nullptr) return "";
  std::ifstream in(path);
  EXPECT_TRUE(in) << "INFERIX_TEST_POSTGRES: cannot read " << path;
  const auto json = nlohmann::json::parse(in, nullptr, false);
  EXPECT_TRUE(json.is_object() && json.contains("url")) << path << " is not a postgres.json with a \"url\"";
  return json.is_object() && json.contains("url") ? json.at("url").get<std::string>() : "";
}

/// `url` with its database (the path) replaced by `db`.
inline std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t query = url.find('?');
  const size_t slash = url.rfind('/', query == std::string::npos ? url.size() : query);
  return url.substr(0, slash) + "/" + db + (query == std::string::npos ? "" : url.substr(query));
}

/// One statement on the test server's own database.
inline Result<void> OnServer(const std::string& server_url, const std::string& sql) {
  auto options = store::pg::ParseUrl(server_url);
  if (!options) return options.error();
  auto conn = store::pg::Conn::Open(*options);
  if (!conn) return conn.error();
  auto done = (*conn)->Exec(sql);
  if (!done) return done.error();
  return Ok();
}

/// A new, empty database on the PostgreSQL test server, dropped when this object goes (after every store on
/// it is closed). `url()` is empty when the server is not configured (the test is skipped).
class TestDatabase {
 public:
  TestDatabase() = default;
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  ~TestDatabase() {
    if (!name_.empty()) (void)OnServer(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  /// Creates the database; false (with a test failure) when the server refuses.
  bool Create() {
    server_ = PgServerUrl();
    if (server_.empty()) return false;
    std::random_device random;
    const std::string name = "inferix_sched_" + std::to_string(random()) + "_" + std::to_string(random());
    auto created = OnServer(server_, "CREATE DATABASE " + name);
    EXPECT_TRUE(created.ok()) << created.error().message;
    if (!created.ok()) return false;
    name_ = name;
    return true;
  }
  std::string url() const { return name_.empty() ? "" : WithDatabase(server_, name_); }

 private:
  std::string server_;
  std::string name_;
};

/// A store for `backend` ("sqlite": in memory; "postgres": on `db`, which the caller created).
inline std::unique_ptr<domain::Store> OpenTestStore(const std::string& backend, const TestDatabase& db) {
  auto s = backend == "postgres" ? store::OpenStore(db.url()) : store::OpenSqliteStore(":memory:");
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(*s) : nullptr;
}

/// The test name suffix of a backend parameter.
inline std::string BackendName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "postgres" ? "Postgres" : "Sqlite";
}

}  // namespace inferix::manager::scheduler_test
