#pragma once
// Logging to systemd's journal: a service's stdout is a stream into the journal (packaging/systemd).

namespace inferix::app {

/// When stdout, where the log goes, is systemd's journal stream (JOURNAL_STREAM names its device and inode,
/// as systemd.exec(5) says to check), each line starts with its syslog priority ("<4>" for a warning) and
/// carries no time of its own: the journal records the time, and `journalctl -p warning` shows warnings and
/// errors only. Otherwise (a terminal, a file, a pipe) the log is left as it is.
void FormatLogForJournal();

}  // namespace inferix::app
