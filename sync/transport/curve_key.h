// CurveZMQ key pairs and the certificate files that hold them.
//
// Files are czmq's `zcert` format (ZPL text, a `curve` section with Z85 `public-key` and
// `secret-key`), written and read by czmq itself, so standard ZeroMQ tooling reads ours and we
// read theirs: a public file NAME (public key only, shareable) and a secret file NAME_secret
// (both keys, mode 0600).
//
// Invariants: a CurveKeyPair holds two 40-character Z85 texts of 32-byte keys, the public one
// derived from the secret one; ParsePublicKey accepts only a decodable 40-character Z85 key.
#pragma once

#include <string>

#include "sync/base/status.h"

namespace stationsync {

inline constexpr size_t kCurveKeyZ85Chars = 40;

struct CurveKeyPair {
  std::string public_z85;
  std::string secret_z85;
};

// True if `text` is a Z85-encoded 32-byte key (40 characters of the Z85 alphabet).
bool IsCurveKey(const std::string& text);

// A fresh key pair from libsodium's random source.
CurveKeyPair GenerateKeyPair();

// Writes `pair` as `path` (public) and `path`_secret (mode 0600). kUnavailable if a file cannot
// be written; existing files are replaced.
Status SaveCertificate(const std::string& path, const CurveKeyPair& pair);

// Reads a secret certificate: `path` is the secret file itself (NAME_secret) or its public
// twin NAME. kInvalid if the file holds no valid key pair (or the public key does not belong
// to the secret one); kNotFound if there is no file.
Result<CurveKeyPair> LoadSecretCertificate(const std::string& path);

// The node's own pair in DATA/node.cert{,_secret}, made on first use. kInvalid or kUnavailable
// as above; a secret file readable by group or others is refused (kRefused).
Result<CurveKeyPair> LoadOrCreateNodeCertificate(const std::string& data_dir);

// A public key given on a command line: Z85 text, or @FILE naming a certificate file (public or
// secret; only the public key is taken). Z85 has '@' in its alphabet: an argument that is a whole
// key is taken as the key. kInvalid names what is wrong.
Result<std::string> ParsePublicKey(const std::string& argument);

}  // namespace stationsync
