#include "net/http_client.hpp"

#include <atomic>

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <system_error>

#include "core/crypto.hpp"

namespace inferix::net {
namespace {

// Error bodies of failed downloads are kept in memory; a misbehaving server must not fill it.
constexpr size_t kMaxErrorBody = 1 << 20;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool HasHeader(const std::map<std::string, std::string>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return ToLower(h.first) == name; });
}

// Owns a curl header list.
struct HeaderList {
  ~HeaderList() { curl_slist_free_all(list); }
  void Add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
  curl_slist* list = nullptr;
};

// Where the response goes while curl runs.
struct Transfer {
  CURL* curl = nullptr;
  HttpResponse response;
  // Download only: the body of a 200 goes to `file`; any other status's body stays in response.body.
  std::FILE* file = nullptr;
  int write_errno = 0;
  // Upload only.
  std::FILE* source = nullptr;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new response begins (after a 100 Continue, for one): forget the previous one's headers.
    transfer->response.headers.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;  // the blank line that ends the headers
  std::string name = ToLower(Trim(line.substr(0, colon)));
  std::string_view value = Trim(line.substr(colon + 1));
  auto [it, inserted] = transfer->response.headers.emplace(std::move(name), std::string(value));
  if (!inserted) {
    it->second += ", ";
    it->second += value;
  }
  return n;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (transfer->file != nullptr) {
    long status = 0;
    curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) {
      if (std::fwrite(data, 1, n, transfer->file) != n) {
        transfer->write_errno = errno ? errno : EIO;
        return 0;  // makes curl stop with CURLE_WRITE_ERROR
      }
      return n;
    }
    if (transfer->response.body.size() >= kMaxErrorBody) return n;
    transfer->response.body.append(data, std::min(n, kMaxErrorBody - transfer->response.body.size()));
    return n;
  }
  transfer->response.body.append(data, n);
  return n;
}

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = std::fread(buffer, 1, size * count, transfer->source);
  if (n == 0 && std::ferror(transfer->source)) return CURL_READFUNC_ABORT;
  return n;
}

// Lets curl resend the body, e.g. when a reused keep-alive connection turns out to be closed.
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* transfer = static_cast<Transfer*>(user);
  return fseeko(transfer->source, static_cast<off_t>(offset), origin) == 0 ? CURL_SEEKFUNC_OK
                                                                           : CURL_SEEKFUNC_CANTSEEK;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

}  // namespace

struct HttpClient::Impl {
  explicit Impl(ClientOptions options) : options(std::move(options)) {
    GlobalInit();
    curl = curl_easy_init();
  }
  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }

  // Options common to every call. `headers` must outlive the transfer.
  void Prepare(Transfer& transfer, const std::string& url, const std::map<std::string, std::string>& extra,
               HeaderList& headers, long timeout_s) {
    curl_easy_reset(curl);  // keeps the connection cache, so keep-alive survives between calls
    transfer.curl = curl;
    error_buffer[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : options.timeout_s);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    if (options.abort != nullptr) {
      // Lets a stopping node leave a long-poll at once instead of waiting for the manager's answer.
      curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
      curl_easy_setopt(curl, CURLOPT_XFERINFODATA, options.abort);
    }
    if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    for (const auto& [name, value] : extra) {
      // "Name;" is curl's way of sending a header with an empty value ("Name:" would remove it).
      std::string line = name;
      if (value.empty()) {
        line += ";";
      } else {
        line += ": ";
        line += value;
      }
      headers.Add(line);
    }
  }

  // Names the method when it is not the one curl's body options imply (POST).
  void SetMethod(const std::string& method) {
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  Result<HttpResponse> Perform(Transfer& transfer, const std::string& method, const std::string& url,
                               HeaderList& headers) {
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
    const CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
      std::string text = error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code);
      return MakeError(Errc::kUnavailable, method + " " + url + ": " + text);
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    transfer.response.status = static_cast<int>(status);
    auto it = transfer.response.headers.find("content-type");
    transfer.response.content_type = it == transfer.response.headers.end() ? std::string() : it->second;
    return std::move(transfer.response);
  }

  ClientOptions options;
  CURL* curl = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::Request(const std::string& method, const std::string& url,
                                         const std::string& body,
                                         const std::map<std::string, std::string>& headers, long timeout_s) {
  if (impl_->curl == nullptr)
    return MakeError(Errc::kInternal, method + " " + url + ": curl_easy_init failed");
  CURL* curl = impl_->curl;
  Transfer transfer;
  HeaderList list;
  impl_->Prepare(transfer, url, headers, list, timeout_s);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "GET" && body.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    // Replaces curl's default form content type; the API speaks JSON.
    if (!HasHeader(headers, "content-type")) list.Add("Content-Type: application/json");
    impl_->SetMethod(method);
  } else {
    impl_->SetMethod(method);  // DELETE, OPTIONS, ... without a body
  }
  return impl_->Perform(transfer, method, url, list);
}

Result<HttpResponse> HttpClient::UploadFile(const std::string& method, const std::string& url,
                                            const std::filesystem::path& file,
                                            const std::map<std::string, std::string>& headers) {
  if (impl_->curl == nullptr)
    return MakeError(Errc::kInternal, method + " " + url + ": curl_easy_init failed");
  CURL* curl = impl_->curl;
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) {
    return MakeError(Errc::kNotFound,
                     method + " " + url + ": cannot upload " + file.string() + ": " + ec.message());
  }
  std::FILE* source = std::fopen(file.c_str(), "rb");
  if (source == nullptr) {
    return MakeError(Errc::kNotFound,
                     method + " " + url + ": cannot open " + file.string() + ": " + std::strerror(errno));
  }
  Transfer transfer;
  transfer.source = source;
  HeaderList list;
  impl_->Prepare(transfer, url, headers, list, 0);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
  curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
  curl_easy_setopt(curl, CURLOPT_SEEKDATA, &transfer);
  if (method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  } else {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
    impl_->SetMethod(method);
  }
  if (!HasHeader(headers, "content-type")) list.Add("Content-Type: application/octet-stream");
  auto result = impl_->Perform(transfer, method, url, list);
  std::fclose(source);
  return result;
}

Result<HttpResponse> HttpClient::Download(const std::string& url, const std::filesystem::path& dest,
                                          const std::map<std::string, std::string>& headers) {
  if (impl_->curl == nullptr) return MakeError(Errc::kInternal, "GET " + url + ": curl_easy_init failed");
  CURL* curl = impl_->curl;
  const std::filesystem::path temp = dest.string() + ".part-" + RandomHex(8);
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) {
    return MakeError(Errc::kInternal, "GET " + url + ": cannot create " + temp.string() + ": " +
                                          std::strerror(errno) +
                                          "; check that the folder exists and is writable");
  }
  Transfer transfer;
  transfer.file = file;
  HeaderList list;
  impl_->Prepare(transfer, url, headers, list, 0);
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  auto result = impl_->Perform(transfer, "GET", url, list);

  std::error_code ignored;
  int close_errno = 0;
  if (std::fflush(file) != 0 || ::fsync(fileno(file)) != 0) close_errno = errno;
  if (std::fclose(file) != 0 && close_errno == 0) close_errno = errno;
  if (transfer.write_errno != 0 || (result.ok() && result->status == 200 && close_errno != 0)) {
    std::filesystem::remove(temp, ignored);
    const int err = transfer.write_errno != 0 ? transfer.write_errno : close_errno;
    return MakeError(Errc::kInternal, "GET " + url + ": cannot write " + temp.string() + ": " +
                                          std::strerror(err) + "; check free disk space");
  }
  if (!result.ok() || result->status != 200) {
    std::filesystem::remove(temp, ignored);
    return result;
  }
  std::error_code ec;
  std::filesystem::rename(temp, dest, ec);
  if (ec) {
    std::filesystem::remove(temp, ignored);
    return MakeError(Errc::kInternal,
                     "GET " + url + ": cannot move the download to " + dest.string() + ": " + ec.message());
  }
  return result;
}

}  // namespace inferix::net
