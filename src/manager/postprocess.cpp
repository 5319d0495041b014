#include "manager/postprocess.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

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

}  // namespace

Postprocessor::Postprocessor(domain::Store& store, domain::BlobStore& blobs, Scheduler& scheduler,
                             PostToStore post, std::filesystem::path tmp_dir)
    : store_(store),
      blobs_(blobs),
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
  auto source = blobs_.LocalPath(output.blob_key);
  if (!source) return;
  std::lock_guard lock(mu_);
  queue_.push_back([this, job_id = job.id, id = output.id, frame = output.frame, path = *source] {
    MakePreview(job_id, id, frame, path);
  });
  cv_.notify_one();
}

void Postprocessor::JobCompleted(const domain::Job& job) {
  auto frames = store_.ListFrames(job.id);
  if (!frames) return;
  std::vector<VideoFrame> list;
  for (const auto& f : *frames) {
    auto out = store_.GetOutput(f.output_id);
    if (!out || !out->has_value()) continue;
    auto path = blobs_.LocalPath((*out)->blob_key);
    if (path) list.push_back({f.number, *path});
  }
  std::lock_guard lock(mu_);
  queue_.push_back([this, job, list] { MakeVideo(job, list); });
  cv_.notify_one();
}

void Postprocessor::MakePreview(int64_t job_id, int64_t output_id, int frame,
                                const std::filesystem::path& source) {
  const std::string key = fmt::format("previews/{}/{}_{}.png", job_id, frame, output_id);
  auto dest = blobs_.LocalPath(key);
  if (!dest) return;
  std::error_code ec;
  std::filesystem::create_directories(dest->parent_path(), ec);
  auto r = image::WriteDisplayPng(source, *dest, kPreviewSize);
  if (!r) {
    spdlog::warn("no preview for job {} frame {}: {}", job_id, frame, r.error().message);
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
  const auto dir = tmp_dir_ / ("video-" + std::to_string(job.id));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  std::string error;
  const std::string key = fmt::format("videos/{}.mp4", job.id);
  // Frames in order, named by position: stepped and listed frames play in order with no gaps.
  const bool linear = job.format == domain::OutputFormat::kExr;
  std::string ext = linear ? "png" : std::string(domain::FileExtension(job.format));
  for (size_t i = 0; i < frames.size() && error.empty(); ++i) {
    auto name = dir / fmt::format("f_{:06d}.{}", i + 1, ext);
    if (linear) {
      auto r = image::WriteDisplayPng(frames[i].file, name, 0);
      if (!r) error = r.error().message;
    } else {
      std::filesystem::create_symlink(frames[i].file, name, ec);
      if (ec) error = "cannot link frame " + std::to_string(frames[i].frame) + ": " + ec.message();
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
    auto dest = blobs_.LocalPath(key);
    if (!dest) {
      error = dest.error().message;
    } else {
      std::filesystem::create_directories(dest->parent_path(), ec);
      std::filesystem::rename(mp4, *dest, ec);
      if (ec) error = "cannot store the video: " + ec.message();
    }
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
