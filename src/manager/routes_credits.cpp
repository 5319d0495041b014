// Credits (issue #18): what a user has, holds and spent, from the ledger.
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/credits.hpp"

namespace inferix::manager {
namespace {

using net::HttpResponse;

constexpr int kStatementLimit = 1000;  // postings in one statement: a job of 1,000 frames holds and pays each

// GET /credits[?job=N]: the caller's balances and statement (of one job).
HttpResponse Credits(Call& c) {
  int64_t job_id = 0;
  if (auto job = c.req.query.find("job"); job != c.req.query.end()) {
    auto parsed = ParseId(job->second);
    if (!parsed)
      return Fail(MakeError(Errc::kInvalidArgument, "job must be a job id, not \"" + job->second + "\""));
    job_id = *parsed;
  }
  auto credits = UserCredits(c.api.store, c.user->id, job_id, kStatementLimit);
  if (!credits) return Fail(credits.error());
  return Json(200, *credits);
}

}  // namespace

std::vector<Route> CreditRoutes() { return {{"GET", "credits", Auth::kUser, Credits}}; }

}  // namespace inferix::manager
