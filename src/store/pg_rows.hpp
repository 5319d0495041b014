#pragma once
// The PostgreSQL adapter's rows: the columns of each table, how an entity is read from a row of pg::Rows,
// and the helpers its statements share. Only src/store includes it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"
#include "store/pg_conn.hpp"
#include "store/row_codec.hpp"

namespace inferix::store::pg {

// The column lists are the schema's, shared with the SQLite adapter (store/row_codec.hpp); inside a join,
// prefix them (Prefixed below) or select from a subquery.
using store::kFrameCols;
using store::kJobCols;
using store::kNodeCols;
using store::kOutputCols;
using store::kTaskCols;

/// Each column of `cols` (a list above) prefixed with `alias` and a dot: Prefixed("t", kTaskCols) gives
/// "t.id, t.job_id, ...", for joins.
std::string Prefixed(const std::string& alias, const char* cols);

/// " FOR UPDATE" when `locking` (inside a Store::Transaction), "" otherwise: the adapter's locking rule.
inline const char* ForUpdate(bool locking) { return locking ? " FOR UPDATE" : ""; }

/// A PostgreSQL array literal of integers, "{1,2,3}", for "= ANY($1::bigint[])": one statement for any
/// number of ids.
template <class T>
std::string ArrayInts(const std::vector<T>& v) {
  std::vector<int64_t> w(v.begin(), v.end());
  return "{" + JoinInts(w) + "}";
}

/// A PostgreSQL array literal of texts, each element in double quotes with '"' and '\' escaped, for
/// "unnest($1::text[])": any text, quotes and backslashes included, comes back unchanged.
std::string ArrayTexts(const std::vector<std::string>& v);

// Readers: row `row` of `rows`, selected with the column list above (in its order, first).
domain::Job ReadJob(const Rows& rows, int row);
domain::Task ReadTask(const Rows& rows, int row);
domain::Frame ReadFrame(const Rows& rows, int row);
domain::Output ReadOutput(const Rows& rows, int row);
domain::Node ReadNode(const Rows& rows, int row);

/// Every row read with `read` (one of the readers above, or a callable (const Rows&, int row) -> T).
template <class T, class Reader>
std::vector<T> ReadAll(const Rows& rows, Reader read) {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(read(rows, i));
  return out;
}
/// The first row read with `read`, or nothing when there is none.
template <class T, class Reader>
std::optional<T> ReadFirst(const Rows& rows, Reader read) {
  if (rows.empty()) return std::nullopt;
  return read(rows, 0);
}

}  // namespace inferix::store::pg
