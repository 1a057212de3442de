// The mock EL's WebSocket chain: numbers link by parentHash, and eth_getBlockByNumber's block
// cut to a header (the hub's block_as_head) is the newHeads header byte for byte.
#include "mockel/ws_chain.h"

#include <gtest/gtest.h>

#include "pipeline/head_feed.h"

namespace em::mockel {
namespace {

TEST(WsChain, HeadersLinkAndBlocksCutToTheSameHeader) {
    for (uint64_t n = 1; n < 50; n++) {
        auto head = pipeline::subs::parse_head_id(chain_header(n, 200));
        auto parent = pipeline::subs::parse_head_id(chain_header(n - 1, 200));
        ASSERT_TRUE(head && parent);
        EXPECT_EQ(head->number, n);
        EXPECT_EQ(head->parent, parent->hash);
        EXPECT_NE(head->hash, parent->hash);
        std::string cut;
        ASSERT_TRUE(pipeline::subs::block_as_head(chain_block(n, 200), cut));
        EXPECT_EQ(cut, chain_header(n, 200));
    }
    EXPECT_EQ(chain_header(7, 200), chain_header(7, 200));  // deterministic
}

}  // namespace
}  // namespace em::mockel
