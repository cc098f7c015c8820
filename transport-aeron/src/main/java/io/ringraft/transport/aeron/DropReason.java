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
    /** The sender is not a configured peer (and the frame is not an introduction, see {@link #INTRODUCTION_LIMITED}). */
    UNKNOWN_SENDER,
    /** Sent from an address that is not the claimed sender's configured host. */
    WRONG_SOURCE,
    /** A message type this version does not know. */
    UNKNOWN_TYPE,
    /** Not signed, and this node requires every frame signed (it has a cluster key). */
    UNAUTHENTICATED,
    /** Signed, and this node has no cluster key: the sender's configuration differs from this node's. */
    UNEXPECTED_AUTHENTICATION,
    /** Signed with a key id this node does not hold (a rotation not finished here, or another cluster's key). */
    UNKNOWN_KEY,
    /** The MAC does not match: altered in transit, forged, or signed with a different key under the same id. */
    BAD_MAC,
    /** Authentic, but of an epoch before the sender's current one: a frame of an earlier run, replayed. */
    OLD_EPOCH,
    /** Authentic, but its sequence number was seen already: a replay of a captured frame. */
    REPLAYED,
    /** The header's body length disagrees with the frame length. */
    BAD_LENGTH,
    /** The body is inconsistent: a short block, a field running past the end, an invalid value. */
    MALFORMED_BODY,
    /**
     * An introduction ({@link io.ringraft.network.Introduce}) from a sender that is not a peer,
     * beyond the rate at which this node accepts them ({@link AeronRaftNetwork#STRANGER_INTRODUCTIONS_PER_SECOND}).
     */
    INTRODUCTION_LIMITED
}
