#pragma once
// What the command lines share: how an admin command reaches the store and prints its answer.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.hpp"

/// 0 when `r` is ok; otherwise logs its error and returns 1.
int Report(const inferix::Result<void>& r);
/// An admin command's answer: the bare secret or message, or with `as_json` one JSON object: `answer` with
/// the text under `key`. Errors as the CLI prints them (an error object with --json).
int PrintAdmin(const inferix::Result<std::string>& r, bool as_json, nlohmann::json answer, const char* key);
/// An admin listing: already text or JSON as asked.
int PrintListing(const inferix::Result<std::string>& r, bool as_json);
/// The admin commands' store options: --data (the manager's folder) or --store (its database URL), one of
/// them.
void AddStoreOptions(CLI::App* cmd, std::string& data, std::string& store_url);
/// The store URL those options name.
std::string AdminStore(const std::string& data, const std::string& store_url);
