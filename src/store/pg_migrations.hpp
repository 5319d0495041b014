#pragma once
// The PostgreSQL adapter's schema migrations (numbered on their own, from 1). Only src/store includes it.
#include <vector>

#include "store/migrations.hpp"

namespace inferix::store {

/// Every PostgreSQL migration, oldest first.
const std::vector<Migration>& PostgresMigrations();

}  // namespace inferix::store
