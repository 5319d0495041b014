// FsObjectStore::List: the objects under a key prefix, in key order, a page at a time. Object keys are paths
// under the store's folder, so a listing walks the folder the prefix names; the adapter's own temporary files
// (an upload being written) are not objects and are left out.
#include <sys/stat.h>

#include <algorithm>
#include <system_error>

#include "blob/fs_blob_store.hpp"
#include "domain/object_keys.hpp"

namespace inferix::blob {
namespace fs = std::filesystem;

namespace {

bool IsTemporary(const std::string& name) { return name.find(".tmp-") != std::string::npos; }

}  // namespace

Result<std::vector<domain::ObjectStore::Listed>> FsObjectStore::List(const std::string& prefix,
                                                                     const std::string& start_after,
                                                                     size_t limit) {
  if (!domain::IsListablePrefix(prefix)) {
    return MakeError(Errc::kInvalidArgument, "invalid object key prefix \"" + prefix.substr(0, 100) + "\"");
  }
  std::vector<Listed> out;
  const size_t slash = prefix.rfind('/');
  const fs::path folder = slash == std::string::npos ? root_ : root_ / prefix.substr(0, slash);
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return out;
  std::vector<std::string> keys;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code entry_ec;  // a file removed meanwhile is skipped, not a failed listing
    if (!it->is_regular_file(entry_ec)) continue;
    std::string key = it->path().lexically_relative(root_).generic_string();
    if (!key.starts_with(prefix) || key <= start_after || IsTemporary(key)) continue;
    if (!domain::IsValidObjectKey(key)) continue;  // not something Put could have made
    keys.push_back(std::move(key));
  }
  if (ec) return MakeError(Errc::kInternal, "cannot list objects under " + prefix + ": " + ec.message());
  std::sort(keys.begin(), keys.end());
  if (keys.size() > limit) keys.resize(limit);
  out.reserve(keys.size());
  for (auto& key : keys) {
    struct stat st {};
    if (::stat((root_ / key).c_str(), &st) != 0) continue;  // deleted meanwhile
    const int64_t ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    out.push_back(Listed{std::move(key), static_cast<int64_t>(st.st_size), ms});
  }
  return out;
}

}  // namespace inferix::blob
