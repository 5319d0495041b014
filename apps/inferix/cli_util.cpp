#include "cli_util.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

#include "client/client.hpp"
#include "store/store_url.hpp"

int Report(const inferix::Result<void>& r) {
  if (r) return 0;
  spdlog::error("{}", r.error().message);
  return 1;
}

// An admin command's answer: the bare secret or message as before, or one JSON object with --json.
int PrintAdmin(const inferix::Result<std::string>& r, bool as_json, nlohmann::json answer, const char* key) {
  if (!r) return as_json ? inferix::client::PrintError(r.error(), true) : Report(r.error());
  if (!as_json) {
    std::cout << *r << "\n";
    return 0;
  }
  answer[key] = *r;
  std::cout << answer.dump() << "\n";
  return 0;
}

// An admin listing: already text or JSON as asked.
int PrintListing(const inferix::Result<std::string>& r, bool as_json) {
  if (!r) return as_json ? inferix::client::PrintError(r.error(), true) : Report(r.error());
  std::cout << *r << "\n";
  return 0;
}

// The admin commands' store: --store, or the SQLite database of --data. One of them is required.
void AddStoreOptions(CLI::App* cmd, std::string& data, std::string& store_url) {
  auto* d = cmd->add_option("--data", data, "the manager's data folder (its SQLite database)");
  auto* s = cmd->add_option("--store", store_url,
                            "the manager's database: sqlite:PATH or postgresql://USER@HOST:PORT/DB");
  d->excludes(s);
  s->excludes(d);
  cmd->callback([cmd] {
    if (cmd->count("--data") + cmd->count("--store") == 0) throw CLI::RequiredError("--data or --store");
  });
}
std::string AdminStore(const std::string& data, const std::string& store_url) {
  return store_url.empty() ? inferix::store::DefaultStoreUrl(data) : store_url;
}
