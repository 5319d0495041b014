#pragma once
// The command lines of the books (issue #18): `inferix credits` for users, `inferix admin credits grant` for
// the operator.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "client/client.hpp"

/// What the credits commands were given.
struct CreditCommandLine {
  CLI::App* credits = nullptr;  ///< inferix credits
  CLI::App* grant = nullptr;    ///< inferix admin credits grant
  int64_t job_id = 0;           ///< credits --job
  bool csv = false;             ///< credits --csv
  std::string user;             ///< grant --user
  std::string amount;           ///< grant --amount, in credits ("100", "12.5")
  std::string data;
  std::string store_url;
};

/// Adds `inferix credits` to `app` (with `add_conn`'s --manager, --token, --ca, --json) and `credits grant`
/// to `admin` (with --json setting `as_json`).
void AddCreditCommands(CLI::App& app, CLI::App& admin, CreditCommandLine& cl, bool& as_json,
                       const std::function<void(CLI::App*)>& add_conn);
/// Runs the credits command that was parsed: its exit code; nullopt when none was.
std::optional<int> RunCreditCommands(const CreditCommandLine& cl, const inferix::client::Connection& conn,
                                     bool as_json);
