#pragma once
// The object-store contract: what domain/object_store.hpp promises, checked the same way against every
// adapter (value-parameterised: object_store_contract_test.cpp instantiates it for the file adapter and
// for S3 against a real gateway). Also the S3 test engine's settings, read from INFERIX_TEST_S3.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "blob/s3_store.hpp"
#include "domain/object_store.hpp"

namespace inferix::blob::testing {

/// A store made for one test, with what removes it afterwards.
struct ContractStore {
  std::unique_ptr<domain::ObjectStore> store;
  std::function<void()> cleanup;
  std::string skip;  ///< when not empty, the test is skipped with this reason (no store)
};

/// One adapter under the contract.
struct ContractParam {
  std::string name;
  std::function<ContractStore()> make;
};

/// The S3 engine of the tests (ctest's `s3` fixture writes its settings to the JSON file named by
/// INFERIX_TEST_S3): nullopt and `*skip` set when the variable is unset; a failed test when the file cannot
/// be read.
std::optional<S3Config> TestS3Config(std::string* skip);

/// A store on the S3 engine; skipped when INFERIX_TEST_S3 is unset, a failed test when it is set and the
/// engine does not answer.
ContractStore MakeS3ContractStore();

}  // namespace inferix::blob::testing
