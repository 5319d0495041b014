#pragma once
// The PostgreSQL server of the connection tests: read from the JSON file INFERIX_TEST_POSTGRES names (ctest's
// `postgres` fixture writes it); each test gets a database of its own, dropped afterwards.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "store/pg_conn.hpp"

namespace inferix::store::pg::testing {

/// `url` with its database (the path) replaced by `db`.
inline std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t query = url.find('?');
  const size_t slash = url.rfind('/', query == std::string::npos ? url.size() : query);
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  return url.substr(0, slash) + "/" + db + rest;
}

/// `url` with the query parameter `param` ("pool=2") added.
inline std::string WithParam(const std::string& url, const std::string& param) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
}

/// A fixture with an empty database of its own on the test server; skipped when INFERIX_TEST_POSTGRES is
/// unset.
class PgServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* path = std::getenv("INFERIX_TEST_POSTGRES");
    if (path == nullptr) {
      GTEST_SKIP() << "no PostgreSQL: set INFERIX_TEST_POSTGRES to a postgres.json (ctest's postgres fixture "
                      "writes <build>/engines/postgres.json)";
    }
    std::ifstream in(path);
    ASSERT_TRUE(in) << "INFERIX_TEST_POSTGRES: cannot read " << path;
    const auto json = nlohmann::json::parse(in, nullptr, false);
    ASSERT_TRUE(json.is_object() && json.contains("url")) << path << " is not a postgres.json with a \"url\"";
    server_url_ = json.at("url").get<std::string>();
    restart_cmd_ = json.value("restart_cmd", "");
    std::random_device random;
    db_ = "inferix_pgconn_" + std::to_string(random()) + std::to_string(random());
    auto admin = Admin();
    ASSERT_TRUE(admin.ok()) << admin.error().message;
    auto created = (*admin)->Exec("CREATE DATABASE " + db_);
    ASSERT_TRUE(created.ok()) << created.error().message;
    url_ = WithDatabase(server_url_, db_);
  }

  void TearDown() override {
    if (url_.empty()) return;
    auto admin = Admin();
    if (admin.ok()) (void)(*admin)->Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  /// A connection to the server's own database (to create and drop the test's).
  Result<std::unique_ptr<Conn>> Admin() const {
    auto options = ParseUrl(server_url_);
    if (!options.ok()) return options.error();
    return Conn::Open(*options);
  }

  /// Options for the test's database, with extra query parameters ("pool=2").
  ConnOptions Options(const std::string& params = "") const {
    auto options = ParseUrl(params.empty() ? url_ : WithParam(url_, params));
    EXPECT_TRUE(options.ok()) << options.error().message;
    return options.ok() ? *options : ConnOptions{};
  }

  std::unique_ptr<Conn> Connect(const std::string& params = "") const {
    auto conn = Conn::Open(Options(params));
    EXPECT_TRUE(conn.ok()) << conn.error().message;
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  std::string server_url_;
  std::string restart_cmd_;
  std::string db_;
  std::string url_;
};

}  // namespace inferix::store::pg::testing
