#pragma once
// The SQLite adapter's rows: a prepared statement, the columns of each table, and how an entity is written to
// and read from a row. Only src/store includes it.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"
#include "store/row_codec.hpp"

namespace inferix::store::sqlite {

// Lists kept in one column: store/row_codec.hpp.
using store::DecodeFiles;
using store::EncodeFiles;
using store::JoinInts;
using store::JoinWords;
using store::SplitInts;
using store::SplitWords;
/// A JSON array of integers, for "IN (SELECT value FROM json_each(?))": one statement for any number of ids.
template <class T>
std::string JsonInts(const std::vector<T>& v) {
  std::vector<int64_t> w(v.begin(), v.end());
  return "[" + JoinInts(w) + "]";
}

// A prepared statement with positional binding.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) error_ = sqlite3_errmsg(db);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int64_t v) {
    sqlite3_bind_int64(stmt_, ++index_, v);
    return *this;
  }
  Stmt& Bind(int v) { return Bind(static_cast<int64_t>(v)); }
  Stmt& Bind(double v) {
    sqlite3_bind_double(stmt_, ++index_, v);
    return *this;
  }
  Stmt& Bind(const std::string& v) {
    sqlite3_bind_text(stmt_, ++index_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(std::string_view v) { return Bind(std::string(v)); }
  Stmt& Bind(const char* v) { return Bind(std::string(v)); }

  /// Steps once: true with a row, false when done; errors are recorded.
  bool Step() {
    if (!error_.empty()) return false;
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) error_ = sqlite3_errmsg(db_);
    return false;
  }
  Result<void> Run() {
    Step();
    return Status();
  }
  Result<void> Status() const {
    if (error_.empty()) return Ok();
    return MakeError(Errc::kInternal, "database: " + error_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int index_ = 0;
  std::string error_;
};

// The column lists are the schema's, shared with the PostgreSQL adapter (store/row_codec.hpp).
using store::kFrameCols;
using store::kJobCols;
using store::kNodeCols;
using store::kOutputCols;
using store::kTaskCols;

domain::Job ReadJob(const Stmt& s);
domain::Task ReadTask(const Stmt& s);
domain::Frame ReadFrame(const Stmt& s);
domain::Output ReadOutput(const Stmt& s);
domain::Node ReadNode(const Stmt& s);

template <class T, class Reader>
Result<std::optional<T>> QueryOne(Stmt& s, Reader read) {
  if (s.Step()) return std::optional<T>(read(s));
  INFERIX_TRY(s.Status());
  return std::optional<T>();
}
template <class T, class Reader>
Result<std::vector<T>> QueryAll(Stmt& s, Reader read) {
  std::vector<T> out;
  while (s.Step()) out.push_back(read(s));
  INFERIX_TRY(s.Status());
  return out;
}

}  // namespace inferix::store::sqlite
