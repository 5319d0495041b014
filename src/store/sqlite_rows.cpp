#include "store/sqlite_rows.hpp"

#include "domain/capabilities.hpp"

namespace inferix::store::sqlite {

using domain::Frame;
using domain::Job;
using domain::Node;
using domain::Output;
using domain::Task;

Job ReadJob(const Stmt& s) {
  Job j;
  j.id = s.Int(0);
  j.user_id = s.Int(1);
  j.name = s.Text(2);
  j.main_file = s.Text(3);
  j.files = DecodeFiles(s.Text(4));
  j.frames_spec = s.Text(5);
  j.format = domain::ParseOutputFormat(s.Text(6)).value_or(domain::OutputFormat::kPng);
  j.chunk_size = static_cast<int>(s.Int(7));
  j.priority = static_cast<int>(s.Int(8));
  j.state = domain::ParseJobState(s.Text(9)).value_or(domain::JobState::kFailed);
  j.message = s.Text(10);
  j.created_ms = s.Int(11);
  j.finished_ms = s.Int(12);
  j.fps = s.Real(13);
  j.video_state = s.Text(14);
  j.video_key = s.Text(15);
  j.started_ms = s.Int(16);
  j.scene_root = s.Text(17);
  j.blender_version = static_cast<int>(s.Int(18));
  j.denoisers = SplitWords(s.Text(19));
  j.without_denoiser = s.Int(20) != 0;
  j.resolution_percentage = static_cast<int>(s.Int(21));
  j.requirements = domain::DecodeRequirements(s.Text(22));
  j.engine = s.Text(23);
  return j;
}
Task ReadTask(const Stmt& s) {
  Task t;
  t.id = s.Int(0);
  t.job_id = s.Int(1);
  t.kind = domain::ParseTaskKind(s.Text(2)).value_or(domain::TaskKind::kRender);
  t.state = domain::ParseTaskState(s.Text(3)).value_or(domain::TaskState::kFailed);
  t.frames = SplitInts<int>(s.Text(4));
  t.output_id = s.Int(5);
  t.node_id = s.Int(6);
  t.lease_expires_ms = s.Int(7);
  t.excluded_nodes = SplitInts<int64_t>(s.Text(8));
  t.message = s.Text(9);
  t.created_ms = s.Int(10);
  t.level = static_cast<int>(s.Int(11));
  t.progress = s.Int(12);
  t.progress_ms = s.Int(13);
  t.slot = s.Text(14);
  return t;
}
Frame ReadFrame(const Stmt& s) {
  Frame f;
  f.job_id = s.Int(0);
  f.number = static_cast<int>(s.Int(1));
  f.state = domain::ParseFrameState(s.Text(2)).value_or(domain::FrameState::kFailed);
  f.task_id = s.Int(3);
  f.output_id = s.Int(4);
  f.failures = static_cast<int>(s.Int(5));
  f.errors = s.Text(6);
  f.excluded_nodes = SplitInts<int64_t>(s.Text(7));
  return f;
}
Output ReadOutput(const Stmt& s) {
  Output o;
  o.id = s.Int(0);
  o.job_id = s.Int(1);
  o.frame = static_cast<int>(s.Int(2));
  o.task_id = s.Int(3);
  o.node_id = s.Int(4);
  o.blob_key = s.Text(5);
  o.sha256 = s.Text(6);
  o.render_seconds = s.Real(7);
  o.verdict = domain::ParseVerdict(s.Text(8)).value_or(domain::Verdict::kPending);
  o.verdict_detail = s.Text(9);
  o.verifier_node_id = s.Int(10);
  o.verify_seconds = s.Real(11);
  o.created_ms = s.Int(12);
  o.preview_key = s.Text(13);
  o.render_cpu_seconds = s.Real(14);
  o.verify_cpu_seconds = s.Real(15);
  o.det_class = s.Text(16);
  o.method = s.Text(17);
  o.credited = s.Int(18) != 0;
  o.replica_of = s.Int(19);
  return o;
}
Node ReadNode(const Stmt& s) {
  Node n;
  n.id = s.Int(0);
  n.name = s.Text(1);
  n.role = domain::ParseNodeRole(s.Text(2)).value_or(domain::NodeRole::kWorker);
  n.public_key = s.Text(3);
  n.capabilities_json = s.Text(4);
  n.banned = s.Int(5) != 0;
  n.last_seen_ms = s.Int(6);
  n.accepted = static_cast<int>(s.Int(7));
  n.rejected = static_cast<int>(s.Int(8));
  n.ban_reason = s.Text(9);
  n.det_class = s.Text(10);
  n.streak = static_cast<int>(s.Int(11));
  n.availability = s.Text(12);
  n.availability_reason = s.Text(13);
  n.owner_id = s.Int(14);
  return n;
}

}  // namespace inferix::store::sqlite
