#pragma once
// What the Store adapters record about their transactions (issue #16; docs/operations.md, "Metrics and
// alerts"), in the process's metrics registry: outermost Transactions by outcome and how long they took, and
// commits that wrote. Only src/store includes it.
#include <chrono>

#include "core/metrics.hpp"
#include "core/result.hpp"

namespace inferix::store {

/// A database engine, as the metrics' `engine` label names it.
enum class Engine { kSqlite, kPostgres };

/// The transaction metrics of one engine, registered on first use.
struct StoreMetrics {
  metrics::Counter& commits;    ///< inferix_store_transactions_total{outcome="commit"}
  metrics::Counter& rollbacks;  ///< inferix_store_transactions_total{outcome="rollback"}
  metrics::Histogram& seconds;  ///< inferix_store_transaction_duration_seconds
  metrics::Counter& writes;     ///< inferix_store_write_transactions_total
};
StoreMetrics& MetricsOf(Engine engine);

/// Times one outermost Transaction from its construction to its end, and counts it as a commit when Commit
/// saw its COMMIT succeed, as a rollback otherwise (an error, an exception, a failed COMMIT).
class TransactionTimer {
 public:
  explicit TransactionTimer(Engine engine)
      : metrics_(MetricsOf(engine)), started_(std::chrono::steady_clock::now()) {}
  ~TransactionTimer();
  TransactionTimer(const TransactionTimer&) = delete;
  TransactionTimer& operator=(const TransactionTimer&) = delete;
  /// Passes the COMMIT's result through, noting whether it succeeded.
  Result<void> Commit(Result<void> committed) {
    committed_ = committed.ok();
    return committed;
  }

 private:
  StoreMetrics& metrics_;
  std::chrono::steady_clock::time_point started_;
  bool committed_ = false;
};

}  // namespace inferix::store
