#pragma once
// Internal to the HTTP server (http_server.cpp): what it does apart from serving requests: refusing
// connections over its caps, shedding one when out of descriptors, its TLS context and its spool folder. Not
// part of the module's interface.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>

// <utility> must come before the Asio headers: g++ 12 otherwise fails on Asio's coroutine support.
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/result.hpp"
#include "net/http.hpp"

namespace inferix::net::internal {

// Bearer tokens, cookies and signed URLs fit easily; Beast's 8 KiB default is tight for large cookies.
constexpr uint32_t kHeaderLimit = 64 * 1024;
// A TLS client must finish its handshake within this.
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
// How much a read between requests takes at once.
constexpr size_t kReadChunk = size_t{16} * 1024;
// Connections over a cap being answered at once; beyond, they are closed without an answer.
constexpr int kMaxRefusing = 64;

// `fn(request)`, or `fallback` when it throws (said on stderr with `what`, e.g. "handler", and the request).
template <class T, class Fn>
T Guarded(const char* what, const HttpRequest& request, const Fn& fn, T fallback) {
  try {
    return fn(request);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "inferix http: %s for %s %s threw: %s\n", what, request.method.c_str(),
                 request.target.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "inferix http: %s for %s %s threw a non-standard exception\n", what,
                 request.method.c_str(), request.target.c_str());
  }
  return fallback;
}

// Answers `answer` on a connection refused before it was served, then closes it, without blocking the
// caller. `refusing` counts refusals in progress (the caller bounds it); `stopping` cuts the wait short.
void RefuseConnection(boost::asio::ip::tcp::socket socket, HttpResponse answer,
                      const std::atomic<bool>& stopping, std::atomic<int>& refusing);

// Out of file descriptors: gives up `reserve_fd` to accept one pending connection of the (non-blocking)
// `acceptor`, answers it 503 and closes it, then takes the reserve again. False when nothing was accepted.
bool ShedOneConnection(boost::asio::ip::tcp::acceptor& acceptor, int& reserve_fd);

// A descriptor held in reserve for ShedOneConnection (-1 when none could be opened).
int OpenReserveDescriptor();

/// Opens `acceptor` on host:port (resolved; port 0: any free one), bound and listening.
Result<void> Listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, uint16_t port);

/// Serves on `fd`, a TCP socket that listens already (ServerOptions::listen_fd, socket activation); an error
/// for any other descriptor.
Result<void> AdoptListeningSocket(boost::asio::ip::tcp::acceptor& acceptor, int fd);

// Makes the spool folder and removes what it holds (bodies of requests a crash interrupted).
Result<void> EmptySpoolFolder(const std::filesystem::path& folder);

// The server's TLS context from a PEM certificate chain and key; TLS 1.2 and later only.
Result<void> LoadTlsContext(const std::string& cert_file, const std::string& key_file,
                            std::optional<boost::asio::ssl::context>& tls);

}  // namespace inferix::net::internal
