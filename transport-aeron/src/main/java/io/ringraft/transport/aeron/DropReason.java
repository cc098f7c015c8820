package io.ringraft.transport.aeron;

/**
 * Why a received frame was dropped instead of delivered. Each reason has its own counter; the
 * checks run in this order, so a frame is counted under the first check it fails.
 */
public enum DropReason
{
    /** Shorter than the header. */
    TOO_SHORT,
    /** Longer than the configured maximum message length. */
    TOO_LONG,
    /** The first two bytes are not the magic number: not a ringraft frame. */
    BAD_MAGIC,
    /** A protocol version this node does not speak. */
    UNSUPPORTED_VERSION,
    /** Sent by a node of another cluster. */
    WRONG_CLUSTER,
    /** Addressed to another node. */
    WRONG_RECEIVER,
    /** The sender is not a configured peer. */
    UNKNOWN_SENDER,
    /** A message type this version does not know. */
    UNKNOWN_TYPE,
    /** The header's body length disagrees with the frame length. */
    BAD_LENGTH,
    /** The body is inconsistent: a short block, a field running past the end, an invalid value. */
    MALFORMED_BODY
}
