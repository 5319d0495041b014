#pragma once
// Work on delivered frames that must not hold the store thread: thumbnails, and the job's video (FFmpeg).
// It fetches its inputs from the object store into a temporary folder of its own, works there, and puts its
// results back into the object store; it never sees where the store keeps an object.
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
  /// `tmp_dir` is a local folder of its own for the files it works on; emptied after each piece of work.
  Postprocessor(domain::Store& store, domain::ObjectStore& objects, Scheduler& scheduler, PostToStore post,
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
    std::string key;     ///< the delivered output's object
    std::string sha256;  ///< its reported digest, checked while it is copied
  };
  void Loop();
  void MakePreview(int64_t job_id, int64_t output_id, int frame, const std::string& source_key,
                   const std::string& source_sha256);
  void MakeVideo(const domain::Job& job, const std::vector<VideoFrame>& frames);

  domain::Store& store_;
  domain::ObjectStore& objects_;
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
