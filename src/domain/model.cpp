#include "domain/model.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <utility>

namespace inferix::domain {
namespace {

template <class E, size_t N>
std::optional<E> Lookup(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view s) {
  for (const auto& [e, name] : table) {
    if (name == s) return e;
  }
  return std::nullopt;
}
template <class E, size_t N>
std::string_view Name(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, name] : table) {
    if (v == e) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<JobState, std::string_view>, 5> kJobStates{
    {{JobState::kQueued, "queued"},
     {JobState::kActive, "active"},
     {JobState::kCompleted, "completed"},
     {JobState::kFailed, "failed"},
     {JobState::kCanceled, "canceled"}}};
constexpr std::array<std::pair<TaskState, std::string_view>, 5> kTaskStates{
    {{TaskState::kQueued, "queued"},
     {TaskState::kActive, "active"},
     {TaskState::kDone, "done"},
     {TaskState::kFailed, "failed"},
     {TaskState::kCanceled, "canceled"}}};
constexpr std::array<std::pair<TaskKind, std::string_view>, 2> kTaskKinds{
    {{TaskKind::kRender, "render"}, {TaskKind::kVerify, "verify"}}};
constexpr std::array<std::pair<FrameState, std::string_view>, 6> kFrameStates{
    {{FrameState::kQueued, "queued"},
     {FrameState::kRendering, "rendering"},
     {FrameState::kVerifying, "verifying"},
     {FrameState::kDelivered, "delivered"},
     {FrameState::kFailed, "failed"},
     {FrameState::kCanceled, "canceled"}}};
constexpr std::array<std::pair<Verdict, std::string_view>, 4> kVerdicts{{{Verdict::kPending, "pending"},
                                                                         {Verdict::kAccepted, "accepted"},
                                                                         {Verdict::kTrusted, "trusted"},
                                                                         {Verdict::kRejected, "rejected"}}};
constexpr std::array<std::pair<NodeRole, std::string_view>, 2> kRoles{
    {{NodeRole::kWorker, "worker"}, {NodeRole::kVerifier, "verifier"}}};

}  // namespace

std::string_view ToString(JobState s) { return Name(kJobStates, s); }
std::string_view ToString(TaskState s) { return Name(kTaskStates, s); }
std::string_view ToString(TaskKind k) { return Name(kTaskKinds, k); }
std::string_view ToString(FrameState s) { return Name(kFrameStates, s); }
std::string_view ToString(Verdict v) { return Name(kVerdicts, v); }
std::string_view ToString(NodeRole r) { return Name(kRoles, r); }
std::string_view ToString(OutputFormat f) {
  switch (f) {
    case OutputFormat::kPng:
      return "PNG";
    case OutputFormat::kExr:
      return "EXR";
    case OutputFormat::kJpeg:
      return "JPEG";
  }
  return "PNG";
}
std::optional<JobState> ParseJobState(std::string_view s) { return Lookup(kJobStates, s); }
std::optional<TaskState> ParseTaskState(std::string_view s) { return Lookup(kTaskStates, s); }
std::optional<TaskKind> ParseTaskKind(std::string_view s) { return Lookup(kTaskKinds, s); }
std::optional<FrameState> ParseFrameState(std::string_view s) { return Lookup(kFrameStates, s); }
std::optional<Verdict> ParseVerdict(std::string_view s) { return Lookup(kVerdicts, s); }
std::optional<NodeRole> ParseNodeRole(std::string_view s) { return Lookup(kRoles, s); }

std::optional<OutputFormat> ParseOutputFormat(std::string_view s) {
  std::string up(s);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  if (up == "PNG") return OutputFormat::kPng;
  if (up == "EXR" || up == "OPEN_EXR" || up == "OPENEXR") return OutputFormat::kExr;
  if (up == "JPEG" || up == "JPG") return OutputFormat::kJpeg;
  return std::nullopt;
}

std::string_view BlenderFormatName(OutputFormat f) {
  switch (f) {
    case OutputFormat::kPng:
      return "PNG";
    case OutputFormat::kExr:
      return "OPEN_EXR";
    case OutputFormat::kJpeg:
      return "JPEG";
  }
  return "PNG";
}

std::string_view FileExtension(OutputFormat f) {
  switch (f) {
    case OutputFormat::kPng:
      return "png";
    case OutputFormat::kExr:
      return "exr";
    case OutputFormat::kJpeg:
      return "jpg";
  }
  return "png";
}

std::string FrameFileName(std::string_view stem, int frame, OutputFormat f) {
  char num[16];
  std::snprintf(num, sizeof num, frame < 0 ? "-%04d" : "%04d", frame < 0 ? -frame : frame);
  return std::string(stem) + "_" + num + "." + std::string(FileExtension(f));
}

}  // namespace inferix::domain
