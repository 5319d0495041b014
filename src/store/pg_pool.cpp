// The PostgreSQL adapter's connection pool: at most pool_size connections, borrowers wait for a returned one,
// and a connection found broken is dropped so that the next borrow opens a fresh one.
#include <utility>

#include "store/pg_conn.hpp"

namespace inferix::store::pg {

Result<std::shared_ptr<Pool>> Pool::Open(const ConnOptions& options) {
  if (options.pool_size < 1) {
    return MakeError(Errc::kInvalidArgument,
                     "database: the pool needs at least one connection (pool=N, N >= 1)");
  }
  std::shared_ptr<Pool> pool(new Pool(options));
  // One connection now, so that a wrong URL or an unreachable server is reported when the store opens rather
  // than on its first call; it stays in the pool.
  auto first = Conn::Open(pool->options_);
  if (!first) return first.error();
  pool->idle_.push_back(std::move(*first));
  pool->open_ = 1;
  return pool;
}

Result<Pool::Lease> Pool::Borrow(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock lock(mu_);
  while (true) {
    while (!idle_.empty()) {
      std::unique_ptr<Conn> conn = std::move(idle_.back());
      idle_.pop_back();
      // A connection the server closed while it sat idle (a restart) is dropped here rather than failing
      // the borrower's first statement; one that breaks later fails that statement once (see Conn::Exec).
      conn->ReadIdleInput();
      if (conn->Healthy()) return Lease(this, std::move(conn));
      --open_;
    }
    if (open_ < options_.pool_size) {
      ++open_;  // the slot is taken while the connection opens, outside the lock
      lock.unlock();
      auto conn = Conn::Open(options_);
      if (conn) return Lease(this, std::move(*conn));
      lock.lock();
      --open_;
      lock.unlock();
      returned_.notify_one();  // the slot is free again for another borrower
      return conn.error();
    }
    if (returned_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      return MakeError(Errc::kUnavailable,
                       "database: no free connection after " + std::to_string(wait.count()) + " ms: all " +
                           std::to_string(options_.pool_size) +
                           " of the pool are in use (raise pool= in the store URL, or lower the load)");
    }
  }
}

void Pool::Return(std::unique_ptr<Conn> conn) {
  // Outside the lock: this may roll back a transaction the borrower left open.
  const bool reuse = conn->ReadyForReuse();
  {
    std::lock_guard lock(mu_);
    if (reuse) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  returned_.notify_one();
  // A connection not kept is closed here, outside the lock.
}

Pool::Lease::~Lease() {
  if (conn_ != nullptr && pool_ != nullptr) pool_->Return(std::move(conn_));
}

Pool::Lease& Pool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr && pool_ != nullptr) pool_->Return(std::move(conn_));
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
  }
  return *this;
}

}  // namespace inferix::store::pg
