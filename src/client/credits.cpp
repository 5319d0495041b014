// `inferix credits`: the user's credits and statement (issue #18), from GET /api/v1/credits.
#include <fmt/format.h>

#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "client/client.hpp"
#include "client/internal.hpp"
#include "domain/ledger.hpp"
#include "net/node_client.hpp"

namespace inferix::client {
namespace {

using json = nlohmann::json;

// A time for statements, UTC: "2026-12-08 01:30:12".
std::string Utc(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

// A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180), quotes doubled.
std::string Csv(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char ch : field) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string Signed(int64_t micro) { return (micro > 0 ? "+" : "") + domain::FormatCredits(micro); }

}  // namespace

int Credits(const Connection& c, int64_t job_id, bool as_json, bool csv) {
  net::ApiClient api(c.manager_url, c.token, net::ClientOptions{c.ca_file, 60, 3});
  auto r =
      api.Call("GET", "/api/v1/credits" + (job_id != 0 ? "?job=" + std::to_string(job_id) : std::string()));
  if (!r) return PrintError(r.error(), as_json);
  if (as_json) {
    std::cout << r->dump(2) << "\n";
    return 0;
  }
  const json& postings = (*r)["postings"];
  if (csv) {
    // A statement for a spreadsheet: amounts in micro-credits (exact integers), times in UTC and in ms.
    std::cout << "time_utc,created_ms,kind,job_id,frame,available_micro,held_micro,memo\n";
    for (const auto& p : postings) {
      std::cout << Utc(p.value("created_ms", int64_t{0})) << "," << p.value("created_ms", int64_t{0}) << ","
                << p.value("kind", "") << "," << p.value("job_id", int64_t{0}) << "," << p.value("frame", 0)
                << "," << p.value("available", int64_t{0}) << "," << p.value("held", int64_t{0}) << ","
                << Csv(p.value("memo", "")) << "\n";
    }
    return 0;
  }
  std::cout << "available: " << domain::FormatCredits(r->value("available", int64_t{0})) << " credits\n"
            << "held:      " << domain::FormatCredits(r->value("held", int64_t{0}))
            << " credits (in escrow for frames being rendered)\n";
  if (postings.empty()) {
    std::cout << (job_id != 0 ? "nothing booked for this job\n" : "nothing booked yet\n");
    return 0;
  }
  std::cout << fmt::format("\n{:<19}  {:<8} {:>6} {:>6} {:>14} {:>14}  {}\n", "TIME (UTC)", "KIND", "JOB",
                           "FRAME", "AVAILABLE", "HELD", "MEMO");
  for (const auto& p : postings) {
    const int64_t job = p.value("job_id", int64_t{0});
    const int frame = p.value("frame", 0);
    std::cout << fmt::format("{:<19}  {:<8} {:>6} {:>6} {:>14} {:>14}  {}\n",
                             Utc(p.value("created_ms", int64_t{0})), Shown(p.value("kind", "")),
                             job != 0 ? std::to_string(job) : "-", job != 0 ? std::to_string(frame) : "-",
                             Signed(p.value("available", int64_t{0})), Signed(p.value("held", int64_t{0})),
                             Shown(p.value("memo", "")));
  }
  return 0;
}

}  // namespace inferix::client
