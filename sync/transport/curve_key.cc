// See curve_key.h.
#include "sync/transport/curve_key.h"

#include <array>
#include <cstring>
#include <filesystem>
#include <memory>

#include <czmq.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <zmq.h>

namespace stationsync {

namespace {

constexpr char kSecretSuffix[] = "_secret";
constexpr mode_t kSecretFileMode = 0600;

// czmq installs SIGINT/SIGTERM handlers of its own on first use unless told not to; syncd has
// its own, so czmq's are switched off before any czmq call.
void QuietCzmq() {
  static const bool quiet = [] {
    zsys_handler_set(nullptr);
    return true;
  }();
  (void)quiet;
}

struct CertDeleter {
  void operator()(zcert_t* cert) const { zcert_destroy(&cert); }
};
using CertPtr = std::unique_ptr<zcert_t, CertDeleter>;

bool EndsWith(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string PublicFileOf(const std::string& path) {
  return EndsWith(path, kSecretSuffix) ? path.substr(0, path.size() - strlen(kSecretSuffix)) : path;
}

// The public key that belongs to `secret_z85`, or "" if it is no key.
std::string PublicOf(const std::string& secret_z85) {
  if (!IsCurveKey(secret_z85)) return "";
  std::array<char, kCurveKeyZ85Chars + 1> public_z85{};
  if (zmq_curve_public(public_z85.data(), secret_z85.c_str()) != 0) return "";
  return public_z85.data();
}

}  // namespace

bool IsCurveKey(const std::string& text) {
  if (text.size() != kCurveKeyZ85Chars) return false;
  std::array<uint8_t, 32> bytes{};
  return zmq_z85_decode(bytes.data(), text.c_str()) != nullptr;
}

CurveKeyPair GenerateKeyPair() {
  std::array<char, kCurveKeyZ85Chars + 1> public_z85{};
  std::array<char, kCurveKeyZ85Chars + 1> secret_z85{};
  const int rc = zmq_curve_keypair(public_z85.data(), secret_z85.data());
  // Fails only when libzmq was built without CURVE, which Debian's is not: a broken install.
  if (rc != 0) {
    fmt::print(stderr, "libzmq cannot make CURVE keys: {}\n", zmq_strerror(zmq_errno()));
    std::abort();
  }
  return {public_z85.data(), secret_z85.data()};
}

Status SaveCertificate(const std::string& path, const CurveKeyPair& pair) {
  QuietCzmq();
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 32> secret_key{};
  if (!zmq_z85_decode(public_key.data(), pair.public_z85.c_str()) ||
      !zmq_z85_decode(secret_key.data(), pair.secret_z85.c_str())) {
    return Invalid("not a CURVE key pair");
  }
  CertPtr cert(zcert_new_from(public_key.data(), secret_key.data()));
  sodium_memzero(secret_key.data(), secret_key.size());
  if (!cert) return Internal("czmq could not make a certificate");
  const std::string secret_path = path + kSecretSuffix;
  // The secret file is made private before a byte of the key is written to it.
  std::filesystem::remove(secret_path);
  const mode_t old_mask = umask(0077);
  const int rc_secret = zcert_save_secret(cert.get(), secret_path.c_str());
  umask(old_mask);
  if (rc_secret != 0 || chmod(secret_path.c_str(), kSecretFileMode) != 0) {
    return Unavailable(fmt::format("cannot write the secret key file {}", secret_path));
  }
  if (zcert_save_public(cert.get(), path.c_str()) != 0) {
    return Unavailable(fmt::format("cannot write the public key file {}", path));
  }
  return Status::Ok();
}

Result<CurveKeyPair> LoadSecretCertificate(const std::string& path) {
  QuietCzmq();
  const std::string secret_path = PublicFileOf(path) + kSecretSuffix;
  if (!std::filesystem::exists(secret_path)) {
    return NotFound(fmt::format("no secret key file {}", secret_path));
  }
  CertPtr cert(zcert_load(secret_path.c_str()));
  if (!cert) return Invalid(fmt::format("{} is not a ZeroMQ certificate file", secret_path));
  CurveKeyPair pair{zcert_public_txt(cert.get()), zcert_secret_txt(cert.get())};
  if (PublicOf(pair.secret_z85).empty() || PublicOf(pair.secret_z85) != pair.public_z85) {
    return Invalid(fmt::format("{} holds no matching CURVE public and secret key", secret_path));
  }
  return pair;
}

Result<CurveKeyPair> LoadOrCreateNodeCertificate(const std::string& data_dir) {
  const std::string path = data_dir + "/node.cert";
  auto loaded = LoadSecretCertificate(path);
  if (loaded.status().code() != Code::kNotFound) {
    if (!loaded.ok()) return loaded.status();
    struct stat info {};
    if (stat((path + kSecretSuffix).c_str(), &info) == 0 && (info.st_mode & 0077) != 0) {
      return Refused(fmt::format("{}{} may be read by others (mode {:o}); chmod 600 it", path,
                                 kSecretSuffix, info.st_mode & 0777));
    }
    return loaded;
  }
  const CurveKeyPair pair = GenerateKeyPair();
  if (Status saved = SaveCertificate(path, pair); !saved.ok()) return saved;
  return pair;
}

Result<std::string> ParsePublicKey(const std::string& argument) {
  // '@' is a Z85 character too: a whole key is a key, even when it starts with '@'.
  if (IsCurveKey(argument)) return argument;
  if (argument.empty() || argument[0] != '@') {
    return Invalid(
        fmt::format("'{}' is not a CURVE public key (40 characters of Z85 text, or @FILE naming a "
                    "certificate file)",
                    argument.substr(0, 60)));
  }
  QuietCzmq();
  const std::string file = argument.substr(1);
  if (!std::filesystem::exists(file)) return Invalid(fmt::format("no key file {}", file));
  CertPtr cert(zcert_load(file.c_str()));
  if (!cert || !IsCurveKey(zcert_public_txt(cert.get()))) {
    return Invalid(fmt::format("{} is not a ZeroMQ certificate file with a public key", file));
  }
  return std::string(zcert_public_txt(cert.get()));
}

}  // namespace stationsync
