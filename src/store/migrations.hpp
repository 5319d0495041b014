#pragma once
// Numbered schema migrations; each runs once, in order, inside a transaction.
#include <string_view>
#include <vector>

namespace inferix::store {

/// One migration.
struct Migration {
  int version;
  std::string_view sql;
};

/// Every migration, oldest first.
const std::vector<Migration>& SqliteMigrations();

}  // namespace inferix::store
