#include "manager/postprocess.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "domain/object_keys.hpp"
#include "image/preview.hpp"

namespace inferix::manager {
namespace {

constexpr int kPreviewSize = 320;

// Runs a program (no shell) with its output in `log`; returns its exit status, or -1 when it cannot start.
int RunProgram(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "w");
    if (f != nullptr) {
      ::dup2(::fileno(f), 1);
      ::dup2(::fileno(f), 2);
    }
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Copies an object into the local file `dest` (created or replaced), piece by piece, checking its bytes
// against `sha256` (the digest reported for it) while copying: a damaged object is refused, never used.
Result<void> Fetch(domain::ObjectStore& objects, const std::string& key, const std::string& sha256,
                   const std::filesystem::path& dest) {
  auto reader = objects.Open(key);
  if (!reader) return reader.error();
  std::ofstream out(dest, std::ios::binary | std::ios::trunc);
  if (!out) return MakeError(Errc::kInternal, "cannot create " + dest.string());
  std::vector<char> buf(size_t{1} << 20);
  int64_t offset = 0;
  Sha256Stream digest;
  while (true) {
    auto n = (*reader)->ReadAt(offset, buf.data(), buf.size());
    if (!n) return n.error();
    if (*n == 0) break;
    digest.Update(std::string_view(buf.data(), *n));
    out.write(buf.data(), static_cast<std::streamsize>(*n));
    offset += static_cast<int64_t>(*n);
  }
  out.close();
  if (!out) return MakeError(Errc::kInternal, "cannot write " + dest.string());
  if (const std::string got = digest.FinishHex(); got != sha256) {
    return MakeError(Errc::kInternal, "stored object " + key + " is damaged: its bytes hash to " + got +
                                          " but " + sha256 + " was reported for it; it was not used");
  }
  return Ok();
}

// A fresh, empty working folder.
std::filesystem::path FreshDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  return dir;
}

}  // namespace

Postprocessor::Postprocessor(domain::Store& store, domain::ObjectStore& objects, Scheduler& scheduler,
                             PostToStore post, std::filesystem::path tmp_dir)
    : store_(store),
      objects_(objects),
      scheduler_(scheduler),
      post_(std::move(post)),
      tmp_dir_(std::move(tmp_dir)),
      thread_([this] { Loop(); }) {}

Postprocessor::~Postprocessor() { Stop(); }

void Postprocessor::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Postprocessor::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      work();
    } catch (const std::exception& e) {
      spdlog::error("post-processing: {}", e.what());
    }
    lock.lock();
  }
}

void Postprocessor::FrameDelivered(const domain::Job& job, const domain::Output& output) {
  std::lock_guard lock(mu_);
  queue_.push_back([this, job_id = job.id, id = output.id, frame = output.frame, key = output.blob_key,
                    sha = output.sha256] { MakePreview(job_id, id, frame, key, sha); });
  cv_.notify_one();
}

void Postprocessor::JobCompleted(const domain::Job& job) {
  auto frames = store_.ListFrames(job.id);
  if (!frames) return;
  std::vector<VideoFrame> list;
  for (const auto& f : *frames) {
    auto out = store_.GetOutput(f.output_id);
    if (!out || !out->has_value()) continue;
    list.push_back({f.number, (*out)->blob_key, (*out)->sha256});
  }
  std::lock_guard lock(mu_);
  queue_.push_back([this, job, list] { MakeVideo(job, list); });
  cv_.notify_one();
}

void Postprocessor::MakePreview(int64_t job_id, int64_t output_id, int frame, const std::string& source_key,
                                const std::string& source_sha256) {
  const std::string key = domain::PreviewKey(job_id, frame, output_id);
  const auto dir = FreshDir(tmp_dir_ / ("preview-" + std::to_string(output_id)));
  auto r = Fetch(objects_, source_key, source_sha256, dir / "frame");
  if (r) r = image::WriteDisplayPng(dir / "frame", dir / "preview.png", kPreviewSize);
  if (r) r = objects_.PutFile(key, dir / "preview.png");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!r) {
    spdlog::warn("no preview for job {} frame {}: {}", job_id, frame, SafeText(r.error().message));
    return;
  }
  // Recorded with an event, so the dashboard and the add-on show the thumbnail as it appears.
  post_([this, job_id, output_id, frame, key] {
    auto r = store_.Transaction([&]() -> Result<void> {
      auto out = store_.GetOutput(output_id);
      if (!out) return out.error();
      auto job = store_.GetJob(job_id);
      if (!job) return job.error();
      if (!out->has_value() || !job->has_value()) return Ok();
      (*out)->preview_key = key;
      INFERIX_TRY(store_.UpdateOutput(**out));
      return scheduler_.Emit(
          **job, "preview",
          nlohmann::json{{"job_id", job_id}, {"frame", frame}, {"output_id", output_id}}.dump());
    });
    if (!r) spdlog::error("recording a preview: {}", r.error().message);
  });
}

void Postprocessor::MakeVideo(const domain::Job& job, const std::vector<VideoFrame>& frames) {
  const auto dir = FreshDir(tmp_dir_ / ("video-" + std::to_string(job.id)));
  std::error_code ec;
  std::string error;
  const std::string key = domain::VideoKey(job.id);
  // Frames in order, named by position: stepped and listed frames play in order with no gaps.
  const bool linear = job.format == domain::OutputFormat::kExr;
  std::string ext = linear ? "png" : std::string(domain::FileExtension(job.format));
  for (size_t i = 0; i < frames.size() && error.empty(); ++i) {
    auto name = dir / fmt::format("f_{:06d}.{}", i + 1, ext);
    // Linear frames are fetched beside, then made display-referred under the name FFmpeg reads.
    auto fetched = Fetch(objects_, frames[i].key, frames[i].sha256, linear ? dir / "linear" : name);
    if (!fetched) {
      error = "cannot use frame " + std::to_string(frames[i].frame) + ": " + fetched.error().message;
    } else if (linear) {
      auto r = image::WriteDisplayPng(dir / "linear", name, 0);
      if (!r) error = r.error().message;
    }
  }
  const auto mp4 = dir / "out.mp4";
  if (error.empty() && frames.empty()) error = "the job delivered no frames";
  if (error.empty()) {
    // libx264 needs even sizes: pad odd ones by a pixel rather than scale the artist's picture.
    int rc = RunProgram({"ffmpeg",
                         "-nostdin",
                         "-y",
                         "-loglevel",
                         "error",
                         "-framerate",
                         fmt::format("{}", job.fps),
                         "-i",
                         (dir / ("f_%06d." + ext)).string(),
                         "-vf",
                         "pad=ceil(iw/2)*2:ceil(ih/2)*2,format=yuv420p",
                         "-c:v",
                         "libx264",
                         "-preset",
                         "veryfast",
                         "-crf",
                         "18",
                         "-r",
                         fmt::format("{}", job.fps),
                         "-movflags",
                         "+faststart",
                         mp4.string()},
                        dir / "ffmpeg.log");
    if (rc != 0) {
      std::ifstream log(dir / "ffmpeg.log");
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      error = rc == 127 ? "ffmpeg is not installed on the manager" : "ffmpeg failed: " + text.substr(0, 500);
    }
  }
  if (error.empty()) {
    auto put = objects_.PutFile(key, mp4);
    if (!put) error = "cannot store the video: " + put.error().message;
  }
  std::filesystem::remove_all(dir, ec);
  if (!error.empty()) spdlog::error("video of job {}: {}", job.id, error);
  post_([this, job_id = job.id, key, error] {
    auto r = store_.Transaction([&]() -> Result<void> {
      auto j = store_.GetJob(job_id);
      if (!j) return j.error();
      if (!j->has_value()) return Ok();
      auto& job = **j;
      job.video_state = error.empty() ? "ready" : "failed";
      job.video_key = error.empty() ? key : "";
      INFERIX_TRY(store_.UpdateJob(job));
      nlohmann::json data = {{"job_id", job_id}, {"video", job.video_state}};
      if (!error.empty()) data["message"] = error;
      return scheduler_.Emit(job, "video", data.dump());
    });
    if (!r) spdlog::error("recording the video of job {}: {}", job_id, r.error().message);
  });
}

}  // namespace inferix::manager
