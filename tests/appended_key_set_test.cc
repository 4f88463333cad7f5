#include "sync/base/appended_key_set.h"

#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace stationsync {
namespace {

TEST(AppendedKeySet, AnswersForKeysThatCameInOrder) {
  AppendedKeySet set;
  for (const char* key : {"cases/C1", "cases/C2", "personnel/P1", "personnel/P1"}) set.Add(key);
  set.Seal();
  EXPECT_TRUE(set.Contains("cases/C1"));
  EXPECT_TRUE(set.Contains("personnel/P1"));
  EXPECT_FALSE(set.Contains("cases/C"));    // a prefix of a key is not the key
  EXPECT_FALSE(set.Contains("cases/C10"));  // nor is a key that a key is a prefix of
  EXPECT_FALSE(set.Contains(""));
  EXPECT_FALSE(set.Contains("registrations/R1"));  // past the last key
  EXPECT_EQ(set.size(), 4u);
}

// The hub pages owner by owner: keys restart at each owner, and a page may be added again after
// Seal (a last page the station failed to store comes again).
TEST(AppendedKeySet, AnswersTheSameAsASetForKeysInAnyOrderSealedOrNot) {
  std::mt19937_64 random(20261203);
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) {
    keys.push_back("registrations/" + std::to_string(random() % 5000));
  }
  std::set<std::string> expected;
  AppendedKeySet set;
  for (size_t i = 0; i < keys.size(); ++i) {
    set.Add(keys[i]);
    expected.insert(keys[i]);
    if (i == 1000) set.Seal();  // then more keys, some smaller than what was sealed
  }
  for (int probe = 0; probe < 5000; ++probe) {
    const std::string key = "registrations/" + std::to_string(probe);
    EXPECT_EQ(set.Contains(key), expected.count(key) == 1) << key << " before Seal";
  }
  set.Seal();
  for (int probe = 0; probe < 5000; ++probe) {
    const std::string key = "registrations/" + std::to_string(probe);
    EXPECT_EQ(set.Contains(key), expected.count(key) == 1) << key << " after Seal";
  }
}

TEST(AppendedKeySet, ClearForgetsEveryKey) {
  AppendedKeySet set;
  set.Add("personnel/P2");
  set.Add("personnel/P1");
  set.Clear();
  set.Seal();
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.Contains("personnel/P1"));
  set.Add("personnel/P3");
  EXPECT_TRUE(set.Contains("personnel/P3"));
  EXPECT_FALSE(set.Contains("personnel/P2"));
}

}  // namespace
}  // namespace stationsync
