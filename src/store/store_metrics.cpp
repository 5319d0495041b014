#include "store/store_metrics.hpp"

#include <string>

namespace inferix::store {
namespace {

StoreMetrics Register(const std::string& engine) {
  auto& registry = metrics::DefaultRegistry();
  auto& transactions = registry.Counters(
      "inferix_store_transactions_total",
      "Outermost Store transactions that ended, by database engine and outcome (commit or rollback).",
      {"engine", "outcome"});
  return StoreMetrics{
      transactions.With({engine, "commit"}),
      transactions.With({engine, "rollback"}),
      registry
          .Histograms("inferix_store_transaction_duration_seconds",
                      "Time from BEGIN to the end of COMMIT or ROLLBACK of outermost Store transactions.",
                      {"engine"}, metrics::TransactionSecondsBuckets())
          .With({engine}),
      registry
          .Counters("inferix_store_write_transactions_total",
                    "Commits that wrote to the database (SQLite: that changed rows, Transaction or single "
                    "statement; PostgreSQL: an outermost Transaction or a statement outside one that ran a "
                    "writing statement).",
                    {"engine"})
          .With({engine}),
  };
}

}  // namespace

StoreMetrics& MetricsOf(Engine engine) {
  // Each engine's series appear once a store of it is used: a manager on SQLite shows no PostgreSQL zeros.
  if (engine == Engine::kSqlite) {
    static StoreMetrics sqlite = Register("sqlite");
    return sqlite;
  }
  static StoreMetrics postgres = Register("postgresql");
  return postgres;
}

TransactionTimer::~TransactionTimer() {
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started_;
  metrics_.seconds.Observe(took.count());
  (committed_ ? metrics_.commits : metrics_.rollbacks).Inc();
}

}  // namespace inferix::store
