#include "net/http_server_util.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core.hpp>

#include "net/http_io.hpp"

namespace inferix::net::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

void RefuseConnection(tcp::socket socket, HttpResponse answer, const std::atomic<bool>& stopping,
                      std::atomic<int>& refusing) {
  auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
  asio::co_spawn(
      stream->get_executor(),
      [stream, &stopping, answer = std::move(answer)]() mutable -> asio::awaitable<void> {
        // (A GCC 12 coroutine bug: a co_await inside an if's condition followed by another in its body
        // crashed; the result goes through a variable.)
        const bool written = co_await WriteResponse(*stream, false, 11, false, std::move(answer));
        if (written) co_await LingeringClose(*stream, stopping);
      },
      [stream, &refusing](const std::exception_ptr&) {
        beast::error_code ignored;
        stream->socket().close(ignored);
        --refusing;
      });
}

bool ShedOneConnection(tcp::acceptor& acceptor, int& reserve_fd) {
  if (reserve_fd >= 0) ::close(reserve_fd);
  reserve_fd = -1;
  tcp::socket socket(acceptor.get_executor());
  beast::error_code ec;
  acceptor.accept(socket, ec);  // the acceptor is non-blocking: fails rather than waits
  if (!ec) {
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
        "Connection: close\r\nContent-Length: 96\r\n\r\n"
        "{\"error\":{\"code\":\"unavailable\",\"message\":\"the server is out of file descriptors; retry "
        "later\"}}";
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.send(asio::buffer(kBusy), 0, ignored);
    socket.close(ignored);
  }
  reserve_fd = OpenReserveDescriptor();
  return !ec;
}

int OpenReserveDescriptor() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

Result<void> EmptySpoolFolder(const std::filesystem::path& folder) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (!ec) {
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
      std::filesystem::remove_all(entry.path(), ec);
      if (ec) break;
    }
  }
  if (ec) {
    return MakeError(Errc::kInternal, "HTTP server: cannot prepare the spool folder " + folder.string() +
                                          ": " + ec.message() + "; check its permissions");
  }
  return Ok();
}

Result<void> LoadTlsContext(const std::string& cert_file, const std::string& key_file,
                            std::optional<ssl::context>& tls) {
  if (cert_file.empty() || key_file.empty()) {
    return MakeError(Errc::kInvalidArgument,
                     "HTTPS needs both a certificate (--tls-cert) and its key (--tls-key)");
  }
  tls.emplace(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  beast::error_code ec;
  tls->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return MakeError(Errc::kInvalidArgument, "cannot use the TLS certificate " + cert_file + ": " +
                                                 ec.message() + "; give a PEM certificate chain");
  }
  tls->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return MakeError(Errc::kInvalidArgument, "cannot use the TLS key " + key_file + ": " + ec.message() +
                                                 "; give the certificate's PEM private key");
  }
  return Ok();
}

Result<void> Listen(tcp::acceptor& acceptor, const std::string& host, uint16_t port) {
  const std::string where = host + ":" + std::to_string(port);
  beast::error_code ec;
  tcp::resolver resolver(acceptor.get_executor());
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return MakeError(Errc::kInvalidArgument, "HTTP server: cannot resolve listen address " + where + ": " +
                                                 ec.message() +
                                                 "; give an IP address or a resolvable host name");
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto fail = [&](const char* step) -> Result<void> {
    beast::error_code ignored;
    acceptor.close(ignored);
    return MakeError(Errc::kUnavailable, std::string("HTTP server: cannot ") + step + " " + where + ": " +
                                             ec.message() + "; is another process using the port?");
  };
  if (acceptor.open(endpoint.protocol(), ec)) return fail("open a socket for");
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec)) return fail("set SO_REUSEADDR on");
  if (acceptor.bind(endpoint, ec)) return fail("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen on");
  return Ok();
}

Result<void> AdoptListeningSocket(tcp::acceptor& acceptor, int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  int listening = 0;
  socklen_t size = sizeof listening;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||  // NOLINT
      (address.ss_family != AF_INET && address.ss_family != AF_INET6) ||
      ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) {
    return MakeError(Errc::kInvalidArgument,
                     "HTTP server: descriptor " + std::to_string(fd) + " is not a listening TCP socket");
  }
  beast::error_code ec;
  acceptor.assign(address.ss_family == AF_INET ? tcp::v4() : tcp::v6(), fd, ec);
  if (ec)
    return MakeError(Errc::kUnavailable,
                     "HTTP server: cannot serve on descriptor " + std::to_string(fd) + ": " + ec.message());
  return Ok();
}

}  // namespace inferix::net::internal
