#pragma once
// Wake-ups from the other managers sharing a database (PostgreSQL LISTEN/NOTIFY): tasks were queued, events
// were appended. Only a hint that something may have changed, never what changed: the tables are the truth. A
// manager on SQLite is the only writer of its database and has no feed.
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace inferix::store {

/// Listens on a connection of its own, on a thread of its own, reconnecting after the server goes away.
class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  /// When (system clock, ms) tasks may last have become claimable: a notification that a task was queued,
  /// or (re)connecting, after which nothing missed in between can be told apart. 0 before the first.
  virtual int64_t TasksChangedMs() const = 0;
  /// The same for appended events.
  virtual int64_t EventsChangedMs() const = 0;
  /// True while the feed is connected and listening: only then does a silence mean that nothing changed.
  virtual bool Listening() const = 0;
  /// Stops listening (the destructor does too).
  virtual void Stop() = 0;
};

/// The feed of the database `url` names: a listener for "postgresql://" URLs; nullptr for SQLite (one
/// manager, nothing to hear). kInvalidArgument for a URL no adapter knows. The first connection is made on
/// the feed's thread: a server that is down now is listened to once it is back.
Result<std::unique_ptr<ChangeFeed>> OpenChangeFeed(const std::string& url);

}  // namespace inferix::store
