// The JSON-RPC layer in one include: request envelopes (request.h), upstream responses and id
// matching (response.h), writers (writer.h), error codes (codes.h) and raw JSON text helpers
// (json_text.h). See each header for threading and ownership; none of them does I/O.
#pragma once

#include "jsonrpc/codes.h"
#include "jsonrpc/json_text.h"
#include "jsonrpc/request.h"
#include "jsonrpc/response.h"
#include "jsonrpc/writer.h"
