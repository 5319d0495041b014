// The PostgreSQL adapter's connection over libpq: parameters as text, rows read as text, SQLSTATEs mapped to
// Errc, and the store URL's parsing (Inferix's own parameters taken out, the password kept out of messages).
#include "store/pg_conn.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace inferix::store::pg {
namespace {

constexpr std::string_view kPrefix = "database: ";
constexpr std::string_view kMask = "***";

// libpq's messages end in a newline and may span lines ("...failed: ...\n\tIs the server running...");
// a log line wants one line.
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string ReplaceAll(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + kMask.size())) {
    text.replace(at, secret.size(), kMask);
  }
  return text;
}

// The password a connection string or URL carries, decoded by libpq ("" when none or unparsable).
std::string PasswordOf(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  PQfreemem(err);
  std::string password;
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(options);
  return password;
}

// The text between "scheme://" and '@' after the first ':' of the userinfo, as written (maybe
// percent-encoded).
std::optional<std::pair<size_t, size_t>> UrlPasswordSpan(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const std::string_view authority = url.substr(start, end == std::string_view::npos ? end : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::make_pair(start + colon + 1, at - colon - 1);
}

// A message about `conninfo` without its password, as written there (maybe percent-encoded) or decoded.
std::string Scrub(std::string text, std::string_view conninfo, const std::string& password) {
  if (auto span = UrlPasswordSpan(conninfo))
    text = ReplaceAll(std::move(text), conninfo.substr(span->first, span->second));
  return ReplaceAll(std::move(text), password);
}

// SQLSTATEs after which the same statement may succeed later: serialization failure, deadlock, statement
// timeout, the server shutting down or not yet up, too many connections, and the whole class 08 (connection).
bool IsTransient(std::string_view state) {
  return state == "40001" || state == "40P01" || state == "57014" || state == "57P01" || state == "57P02" ||
         state == "57P03" || state == "53300" || state.starts_with("08");
}

// An integrity violation named in the words SQLite uses, so that a message (and a log search) reads the same
// whichever store a manager runs on.
const char* IntegrityKind(std::string_view state) {
  if (state == "23505") return "UNIQUE constraint failed: ";
  if (state == "23503") return "FOREIGN KEY constraint failed: ";
  if (state == "23502") return "NOT NULL constraint failed: ";
  if (state == "23514") return "CHECK constraint failed: ";
  return nullptr;
}

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {
  // Notices ("relation already exists, skipping") are not errors; libpq would print them to stderr.
}

Result<int64_t> ParseBounded(std::string_view key, std::string_view value, int64_t low, int64_t high) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < low || n > high) {
    return MakeError(Errc::kInvalidArgument, std::string(key) + " must be a whole number from " +
                                                 std::to_string(low) + " to " + std::to_string(high) +
                                                 ", got \"" + std::string(value) + "\"");
  }
  return n;
}

}  // namespace

// ---- Params ----

Params& Params::Add(int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

Params& Params::Add(double v) {
  if (std::isnan(v)) {
    values_.emplace_back("NaN");
  } else if (std::isinf(v)) {
    values_.emplace_back(v > 0 ? "Infinity" : "-Infinity");
  } else {
    // The shortest text that reads back as the same double.
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    values_.emplace_back(std::string(buf, ec == std::errc() ? end : buf));
  }
  return *this;
}

Params& Params::Add(bool v) {
  values_.emplace_back(v ? "1" : "0");
  return *this;
}

Params& Params::Add(std::string v) {
  values_.emplace_back(std::move(v));
  return *this;
}

Params& Params::AddNull() {
  values_.emplace_back(std::nullopt);
  return *this;
}

std::vector<const char*> Params::Pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

size_t Params::FirstWithNul() const {
  for (size_t i = 0; i < values_.size(); ++i) {
    if (values_[i] && values_[i]->find('\0') != std::string::npos) return i + 1;
  }
  return 0;
}

// ---- Rows ----

Rows::Rows(pg_result* result) : result_(result) {}

Rows::~Rows() {
  if (result_ != nullptr) PQclear(result_);
}

Rows::Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

int Rows::size() const { return result_ == nullptr ? 0 : PQntuples(result_); }

bool Rows::IsNull(int row, int col) const {
  return result_ == nullptr || PQgetisnull(result_, row, col) != 0;
}

std::string Rows::Text(int row, int col) const {
  if (IsNull(row, col)) return "";
  return std::string(PQgetvalue(result_, row, col), static_cast<size_t>(PQgetlength(result_, row, col)));
}

int64_t Rows::Int(int row, int col) const {
  const std::string text = Text(row, col);
  if (text == "t") return 1;
  if (text == "f") return 0;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && end == text.data() + text.size()) return n;
  // A numeric (SUM of bigints, AVG) read as a whole number.
  const double d = Real(row, col);
  if (std::isfinite(d) && std::abs(d) < 9.2e18) return static_cast<int64_t>(d);
  return 0;
}

double Rows::Real(int row, int col) const {
  const std::string text = Text(row, col);
  double d = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  return ec == std::errc() ? d : 0;
}

int64_t Rows::Affected() const {
  if (result_ == nullptr) return 0;
  const std::string_view text = PQcmdTuples(result_);
  int64_t n = 0;
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

// ---- URLs ----

std::string RedactConninfo(std::string_view conninfo) {
  std::string out(conninfo);
  if (auto span = UrlPasswordSpan(out)) out.replace(span->first, span->second, kMask);
  // password=VALUE, as a URL query parameter or a keyword of "host=... password=..." (maybe quoted).
  for (size_t at = out.find("password="); at != std::string::npos; at = out.find("password=", at + 1)) {
    if (at > 0 && out[at - 1] != '?' && out[at - 1] != '&' && out[at - 1] != ' ') continue;
    const size_t start = at + 9;
    size_t end = start;
    if (end < out.size() && out[end] == '\'') {
      for (++end; end < out.size() && out[end] != '\''; ++end) {
        if (out[end] == '\\') ++end;
      }
      end = std::min(end + 1, out.size());
    } else {
      end = out.find_first_of("& \t\n#", start);
      if (end == std::string::npos) end = out.size();
    }
    out.replace(start, end - start, kMask);
  }
  return out;
}

Result<ConnOptions> ParseUrl(const std::string& url) {
  const std::string shown = RedactConninfo(url);
  auto bad = [&](const std::string& what) {
    return MakeError(Errc::kInvalidArgument, std::string(kPrefix) + "store URL " + shown + ": " + what);
  };
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    return bad("must start with postgresql:// (postgresql://USER[:PASSWORD]@HOST:PORT/DB)");
  }
  ConnOptions options;
  const size_t question = url.find('?');
  std::string kept;
  if (question != std::string::npos) {
    std::string_view query = std::string_view(url).substr(question + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view part = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      const size_t eq = part.find('=');
      const std::string_view key = part.substr(0, eq);
      const std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
      if (key == "pool") {
        auto n = ParseBounded(key, value, 1, 1000);
        if (!n) return bad(n.error().message);
        options.pool_size = static_cast<int>(*n);
      } else if (key == "statement_timeout_ms") {
        auto n = ParseBounded(key, value, 1, std::numeric_limits<int32_t>::max());
        if (!n) return bad(n.error().message);
        options.statement_timeout_ms = *n;
      } else if (key == "connect_timeout_s") {
        auto n = ParseBounded(key, value, 1, 3600);
        if (!n) return bad(n.error().message);
        options.connect_timeout_s = static_cast<int>(*n);
      } else if (!part.empty()) {
        kept += (kept.empty() ? "" : "&") + std::string(part);
      }
    }
  }
  options.conninfo = url.substr(0, question);
  if (!kept.empty()) options.conninfo += "?" + kept;
  // libpq checks the rest (host, port, its own parameters); its message may quote the URL.
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &err);
  PQconninfoFree(parsed);
  if (parsed == nullptr) {
    std::string why = err != nullptr ? OneLine(err) : "not a connection URL";
    PQfreemem(err);
    for (size_t at = why.find(options.conninfo); at != std::string::npos;
         at = why.find(options.conninfo, at + 1)) {
      why.replace(at, options.conninfo.size(), RedactConninfo(options.conninfo));
    }
    return bad(Scrub(std::move(why), url, ""));
  }
  return options;
}

// ---- Conn ----

Conn::Conn(pg_conn* conn, std::string redacted_target, std::string password)
    : conn_(conn), redacted_target_(std::move(redacted_target)), password_(std::move(password)) {}

Conn::~Conn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result<std::unique_ptr<Conn>> Conn::Open(const ConnOptions& options) {
  // Keywords after "dbname" (which libpq expands from the URL) override the URL's own.
  const std::string connect_timeout = std::to_string(options.connect_timeout_s);
  const char* const keywords[] = {"dbname", "connect_timeout", "application_name", "client_encoding",
                                  nullptr};
  const char* const values[] = {options.conninfo.c_str(), connect_timeout.c_str(), "inferix", "UTF8",
                                nullptr};
  pg_conn* raw = PQconnectdbParams(keywords, values, 1);
  std::unique_ptr<Conn> conn(new Conn(raw, RedactConninfo(options.conninfo), PasswordOf(options.conninfo)));
  if (raw == nullptr) {
    return MakeError(Errc::kUnavailable, std::string(kPrefix) + "cannot connect to " +
                                             conn->redacted_target_ + ": out of memory");
  }
  if (PQstatus(raw) != CONNECTION_OK) {
    return conn->ConnError(Errc::kUnavailable, "cannot connect to " + conn->redacted_target_);
  }
  PQsetNoticeProcessor(raw, IgnoreNotice, nullptr);
  auto set = conn->Exec("SELECT set_config('statement_timeout', $1, false)",
                        Params().Add(std::to_string(options.statement_timeout_ms)));
  if (!set) return set.error();
  return conn;
}

Error Conn::ConnError(Errc code, std::string_view what) const {
  std::string message = std::string(kPrefix) + std::string(what);
  if (conn_ != nullptr) {
    const std::string why = OneLine(PQerrorMessage(conn_));
    if (!why.empty()) message += ": " + why;
  }
  return MakeError(code, ReplaceAll(std::move(message), password_));
}

namespace {

// The Error for a result that is not a success; nullptr when it is one.
std::optional<Error> ResultError(pg_conn* conn, pg_result* result) {
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY)
    return std::nullopt;
  if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
    return MakeError(Errc::kInternal, std::string(kPrefix) + "COPY is not supported through this connection");
  }
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
  std::string message(kPrefix);
  if (const char* kind = state != nullptr ? IntegrityKind(state) : nullptr) message += kind;
  if (primary != nullptr) {
    message += primary;
  } else {
    // libpq's own errors (a lost connection) carry no fields, only the message.
    const std::string text = OneLine(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
    message += text.empty() ? "the statement failed" : text;
  }
  if (detail != nullptr) message += " (" + OneLine(detail) + ")";
  if (state != nullptr) message += std::string(" [SQLSTATE ") + state + "]";
  const bool lost = PQstatus(conn) == CONNECTION_BAD;
  if (lost && primary == nullptr) message += " (the connection to the server was lost)";
  const bool transient = lost || (state != nullptr && IsTransient(state));
  return MakeError(transient ? Errc::kUnavailable : Errc::kInternal, std::move(message));
}

// Whether a statement that succeeded with command tag `tag`, having changed `changed` rows by that tag,
// wrote: an INSERT, UPDATE, DELETE or MERGE that changed a row, or a WITH whose data-modifying part hides
// behind the outer SELECT's tag (counted whether or not it changed a row: the tag does not tell).
bool IsWrite(std::string_view sql, std::string_view tag, int64_t changed) {
  for (std::string_view verb : {"INSERT ", "UPDATE ", "DELETE ", "MERGE "}) {
    if (tag.starts_with(verb)) return changed > 0;
  }
  if (!sql.starts_with("WITH ")) return false;
  for (std::string_view part : {"AS (INSERT ", "AS (UPDATE ", "AS (DELETE "}) {
    if (sql.find(part) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

// A failed statement is never sent again here: on a lost connection a write may have committed before the
// connection broke, and only the caller (with its idempotent writes, or a fresh read of the tables) can tell.
Result<Rows> Conn::Exec(std::string_view sql, const Params& params) {
  if (conn_ == nullptr) return ConnError(Errc::kUnavailable, "the connection is closed");
  if (const size_t n = params.FirstWithNul(); n != 0) {
    return MakeError(Errc::kInvalidArgument, std::string(kPrefix) + "parameter $" + std::to_string(n) +
                                                 " holds a NUL byte, which PostgreSQL text cannot store");
  }
  const std::vector<const char*> values = params.Pointers();
  const std::string text(sql);
  Rows rows(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                         nullptr, nullptr, 0));
  if (auto error = ResultError(conn_, rows.result_)) {
    return MakeError(error->code, ReplaceAll(std::move(error->message), password_));
  }
  if (IsWrite(text, PQcmdStatus(rows.result_), rows.Affected())) ++writes_;
  return rows;
}

Result<void> Conn::ExecScript(std::string_view sql) {
  if (conn_ == nullptr) return ConnError(Errc::kUnavailable, "the connection is closed");
  const std::string text(sql);
  // Several statements in one simple query run as one implicit transaction unless the script says otherwise;
  // the result is the first failure's, or the last statement's.
  const Rows rows(PQexec(conn_, text.c_str()));
  if (auto error = ResultError(conn_, rows.result_)) {
    return MakeError(error->code, ReplaceAll(std::move(error->message), password_));
  }
  return {};
}

bool Conn::Healthy() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

std::vector<std::pair<std::string, std::string>> Conn::TakeNotifications() {
  std::vector<std::pair<std::string, std::string>> out;
  if (conn_ == nullptr) return out;
  // Reads what has arrived without waiting (libpq's socket is non-blocking); a failure leaves the connection
  // bad, which Healthy() then reports.
  PQconsumeInput(conn_);
  while (PGnotify* n = PQnotifies(conn_)) {
    out.emplace_back(n->relname, n->extra != nullptr ? n->extra : "");
    PQfreemem(n);
  }
  return out;
}

int Conn::Socket() const { return conn_ == nullptr ? -1 : PQsocket(conn_); }

void Conn::ReadIdleInput() {
  if (Healthy()) PQconsumeInput(conn_);
}

bool Conn::ReadyForReuse() {
  if (!Healthy()) return false;
  switch (PQtransactionStatus(conn_)) {
    case PQTRANS_IDLE:
      return true;
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR: {
      // A borrower left a transaction open (or failed inside one): the next borrower must not inherit it.
      const Rows rows(PQexec(conn_, "ROLLBACK"));
      return PQresultStatus(rows.result_) == PGRES_COMMAND_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
    }
    default:
      return false;  // a command still running, or the connection is broken
  }
}

}  // namespace inferix::store::pg
