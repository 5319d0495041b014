#include "store/pg_rows.hpp"

#include "domain/capabilities.hpp"

namespace inferix::store::pg {

using domain::Frame;
using domain::Job;
using domain::Node;
using domain::Output;
using domain::Task;

std::string Prefixed(const std::string& alias, const char* cols) {
  std::string out;
  std::string_view rest(cols);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view col = rest.substr(0, comma);
    while (!col.empty() && col.front() == ' ') col.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += alias + "." + std::string(col);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

std::string ArrayTexts(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

Job ReadJob(const Rows& r, int row) {
  Job j;
  j.id = r.Int(row, 0);
  j.user_id = r.Int(row, 1);
  j.name = r.Text(row, 2);
  j.main_file = r.Text(row, 3);
  j.files = DecodeFiles(r.Text(row, 4));
  j.frames_spec = r.Text(row, 5);
  j.format = domain::ParseOutputFormat(r.Text(row, 6)).value_or(domain::OutputFormat::kPng);
  j.chunk_size = static_cast<int>(r.Int(row, 7));
  j.priority = static_cast<int>(r.Int(row, 8));
  j.state = domain::ParseJobState(r.Text(row, 9)).value_or(domain::JobState::kFailed);
  j.message = r.Text(row, 10);
  j.created_ms = r.Int(row, 11);
  j.finished_ms = r.Int(row, 12);
  j.fps = r.Real(row, 13);
  j.video_state = r.Text(row, 14);
  j.video_key = r.Text(row, 15);
  j.started_ms = r.Int(row, 16);
  j.scene_root = r.Text(row, 17);
  j.blender_version = static_cast<int>(r.Int(row, 18));
  j.denoisers = SplitWords(r.Text(row, 19));
  j.without_denoiser = r.Int(row, 20) != 0;
  j.resolution_percentage = static_cast<int>(r.Int(row, 21));
  j.requirements = domain::DecodeRequirements(r.Text(row, 22));
  j.engine = r.Text(row, 23);
  return j;
}
Task ReadTask(const Rows& r, int row) {
  Task t;
  t.id = r.Int(row, 0);
  t.job_id = r.Int(row, 1);
  t.kind = domain::ParseTaskKind(r.Text(row, 2)).value_or(domain::TaskKind::kRender);
  t.state = domain::ParseTaskState(r.Text(row, 3)).value_or(domain::TaskState::kFailed);
  t.frames = SplitInts<int>(r.Text(row, 4));
  t.output_id = r.Int(row, 5);
  t.node_id = r.Int(row, 6);
  t.lease_expires_ms = r.Int(row, 7);
  t.excluded_nodes = SplitInts<int64_t>(r.Text(row, 8));
  t.message = r.Text(row, 9);
  t.created_ms = r.Int(row, 10);
  t.level = static_cast<int>(r.Int(row, 11));
  t.progress = r.Int(row, 12);
  t.progress_ms = r.Int(row, 13);
  t.slot = r.Text(row, 14);
  return t;
}
Frame ReadFrame(const Rows& r, int row) {
  Frame f;
  f.job_id = r.Int(row, 0);
  f.number = static_cast<int>(r.Int(row, 1));
  f.state = domain::ParseFrameState(r.Text(row, 2)).value_or(domain::FrameState::kFailed);
  f.task_id = r.Int(row, 3);
  f.output_id = r.Int(row, 4);
  f.failures = static_cast<int>(r.Int(row, 5));
  f.errors = r.Text(row, 6);
  f.excluded_nodes = SplitInts<int64_t>(r.Text(row, 7));
  return f;
}
Output ReadOutput(const Rows& r, int row) {
  Output o;
  o.id = r.Int(row, 0);
  o.job_id = r.Int(row, 1);
  o.frame = static_cast<int>(r.Int(row, 2));
  o.task_id = r.Int(row, 3);
  o.node_id = r.Int(row, 4);
  o.blob_key = r.Text(row, 5);
  o.sha256 = r.Text(row, 6);
  o.render_seconds = r.Real(row, 7);
  o.verdict = domain::ParseVerdict(r.Text(row, 8)).value_or(domain::Verdict::kPending);
  o.verdict_detail = r.Text(row, 9);
  o.verifier_node_id = r.Int(row, 10);
  o.verify_seconds = r.Real(row, 11);
  o.created_ms = r.Int(row, 12);
  o.preview_key = r.Text(row, 13);
  o.render_cpu_seconds = r.Real(row, 14);
  o.verify_cpu_seconds = r.Real(row, 15);
  o.det_class = r.Text(row, 16);
  o.method = r.Text(row, 17);
  o.credited = r.Int(row, 18) != 0;
  o.replica_of = r.Int(row, 19);
  return o;
}
Node ReadNode(const Rows& r, int row) {
  Node n;
  n.id = r.Int(row, 0);
  n.name = r.Text(row, 1);
  n.role = domain::ParseNodeRole(r.Text(row, 2)).value_or(domain::NodeRole::kWorker);
  n.public_key = r.Text(row, 3);
  n.capabilities_json = r.Text(row, 4);
  n.banned = r.Int(row, 5) != 0;
  n.last_seen_ms = r.Int(row, 6);
  n.accepted = static_cast<int>(r.Int(row, 7));
  n.rejected = static_cast<int>(r.Int(row, 8));
  n.ban_reason = r.Text(row, 9);
  n.det_class = r.Text(row, 10);
  n.streak = static_cast<int>(r.Int(row, 11));
  n.availability = r.Text(row, 12);
  n.availability_reason = r.Text(row, 13);
  n.owner_id = r.Int(row, 14);
  return n;
}

}  // namespace inferix::store::pg
