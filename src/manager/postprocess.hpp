#pragma once
// Work on delivered frames that must not hold the store thread: thumbnails, and the job's video (FFmpeg).
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "domain/model.hpp"
#include "domain/ports.hpp"
#include "manager/scheduler.hpp"

namespace inferix::manager {

/// Runs `fn` on the store thread.
using PostToStore = std::function<void(std::function<void()>)>;

/// A background thread making previews and videos; results go back through the store thread.
class Postprocessor {
 public:
  Postprocessor(domain::Store& store, domain::BlobStore& blobs, Scheduler& scheduler, PostToStore post,
                std::filesystem::path tmp_dir);
  ~Postprocessor();
  Postprocessor(const Postprocessor&) = delete;
  Postprocessor& operator=(const Postprocessor&) = delete;

  /// Store thread: queues a thumbnail of a delivered frame.
  void FrameDelivered(const domain::Job& job, const domain::Output& output);
  /// Store thread: queues the video of a completed job (its delivered frames, in frame order).
  void JobCompleted(const domain::Job& job);
  /// Stops the thread; queued work is dropped (videos still pending are made again at the next start).
  void Stop();

 private:
  struct VideoFrame {
    int frame;
    std::filesystem::path file;
  };
  void Loop();
  void MakePreview(int64_t job_id, int64_t output_id, int frame, const std::filesystem::path& source);
  void MakeVideo(const domain::Job& job, const std::vector<VideoFrame>& frames);

  domain::Store& store_;
  domain::BlobStore& blobs_;
  Scheduler& scheduler_;
  PostToStore post_;
  std::filesystem::path tmp_dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace inferix::manager
