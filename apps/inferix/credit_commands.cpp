#include "credit_commands.hpp"

#include "cli_util.hpp"
#include "manager/credits.hpp"

void AddCreditCommands(CLI::App& app, CLI::App& admin, CreditCommandLine& cl, bool& as_json,
                       const std::function<void(CLI::App*)>& add_conn) {
  cl.credits = app.add_subcommand("credits", "your credits: available, held in escrow, and the statement");
  cl.credits->add_option("--job", cl.job_id, "only this job's postings");
  cl.credits->add_flag("--csv", cl.csv, "the statement as CSV (amounts in micro-credits)");
  add_conn(cl.credits);
  auto* credits_admin = admin.add_subcommand("credits", "users' credits");
  credits_admin->require_subcommand(1);
  cl.grant = credits_admin->add_subcommand("grant", "grant a user credits (audited)");
  AddStoreOptions(cl.grant, cl.data, cl.store_url);
  cl.grant->add_option("--user", cl.user, "user name")->required();
  cl.grant->add_option("--amount", cl.amount, "credits to grant, such as 100 or 12.5")->required();
  cl.grant->add_flag("--json", as_json, "print {\"user\", \"amount\", \"message\"}; amount in micro-credits");
}

std::optional<int> RunCreditCommands(const CreditCommandLine& cl, const inferix::client::Connection& conn,
                                     bool as_json) {
  if (cl.credits->parsed()) return inferix::client::Credits(conn, cl.job_id, as_json, cl.csv);
  if (cl.grant->parsed()) {
    nlohmann::json answer = {{"user", cl.user}};
    if (auto micro = inferix::domain::ParseCredits(cl.amount)) answer["amount"] = *micro;
    return PrintAdmin(inferix::manager::GrantCredits(AdminStore(cl.data, cl.store_url), cl.user, cl.amount),
                      as_json, answer, "message");
  }
  return std::nullopt;
}
