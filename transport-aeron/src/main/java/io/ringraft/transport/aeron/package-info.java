/**
 * {@link io.ringraft.network.RaftNetwork} over Aeron UDP: the wire codec, {@link
 * io.ringraft.transport.aeron.AeronRaftNetwork} and the embedded media driver.
 *
 * <h2>Wire format, version 1</h2>
 * Every message is one Aeron message (Aeron fragments and reassembles it). All integers are
 * little-endian. A frame is a 40-byte header followed by a body of {@code bodyLength} bytes;
 * the body is a fixed block of {@code blockLength} bytes followed by the message's variable part.
 * <pre>
 * header                                 offset size
 *   magic        0x5252 ("RR")              0    2
 *   version      1                          2    1
 *   type         see below                  3    1
 *   blockLength  fixed block of the body    4    2
 *   flags        1 authenticated            6    2
 *   bodyLength   frame length - 40          8    4
 *   clusterId                              12    4
 *   senderId     message.from()            16    8
 *   receiverId   message.to()              24    8
 *   term         message.term()            32    8
 *
 * type 1 VoteRequest            block 17: lastLogTerm i64, lastLogIndex i64, flags u8 (1 preVote, 2 transfer)
 * type 2 VoteResponse           block 1:  flags u8 (1 granted, 2 preVote)
 * type 3 AppendEntriesRequest   block 32: prevLogTerm i64, prevLogIndex i64, leaderCommit i64, seq i64
 *                               then the entry group: entryBlockLength u16, reserved u16, count i32,
 *                               and count times: term i64, index i64, payloadLength i32, type u8,
 *                               checksum i32 (CRC32C of the 21 bytes before it and of the payload,
 *                               computed by the leader when it appended the entry; a follower checks
 *                               it before making the entry durable), entryBlockLength bytes in all,
 *                               then payloadLength payload bytes
 * type 4 AppendEntriesResponse  block 33: matchIndex i64, conflictTerm i64, conflictIndex i64, seq i64,
 *                               flags u8 (1 success)
 * type 5 InstallSnapshotRequest block 37: lastIncludedTerm i64, lastIncludedIndex i64, offset i64,
 *                               sizeBytes i64, crc32c i32, flags u8 (1 done)
 *                               then three length-prefixed fields (i32 length, -1 for null):
 *                               snapshotId (UTF-8), membership ({@link io.ringraft.Membership#encode()}), chunk
 * type 6 InstallSnapshotResponse block 9: nextOffset i64, flags u8 (1 done)
 *                               then snapshotId as a length-prefixed UTF-8 field
 * type 7 TimeoutNow             block 0
 * type 8 ReadIndexRequest       block 8:  readId i64
 * type 9 ReadIndexResponse      block 25: readId i64, readIndex i64, leaderId i64, flags u8 (1 ok)
 * type 10 Introduce             block 0, then the leader's endpoint as a length-prefixed UTF-8 field
 * </pre>
 * A receiver drops frames from senders that are not its peers, except type 10: a leader that the
 * receiver's membership does not name introduces itself with it (rate-limited, authenticated like
 * every frame); see {@link io.ringraft.network.Introduce}.
 *
 * <h2>Authentication</h2>
 * With a cluster key ({@link io.ringraft.transport.aeron.AeronTransportConfig#authKeyFile(java.nio.file.Path)})
 * every frame has header flag 1 set and ends, after its body, with the 36-byte trailer of
 * {@link io.ringraft.transport.aeron.FrameAuthenticator}: key id i32, sender epoch i64, sequence i64,
 * then the first 16 bytes of HMAC-SHA256 over everything before them. {@code bodyLength} does not
 * count the trailer. A receiver with a key drops unsigned frames, frames under a key it does not
 * hold or with a MAC that does not match, and frames whose (epoch, sequence) is not after the last
 * accepted from that sender ({@link io.ringraft.transport.aeron.ReplayGuard}); a receiver without
 * a key drops signed frames. The checks run after the header's cluster, receiver, sender, source
 * address and type checks, before the body is read.
 *
 * <h2>Schema evolution</h2>
 * <ul>
 *   <li>Within a version, fields are only ever appended: to a fixed block (the sender's
 *       {@code blockLength} and {@code entryBlockLength} grow, and a receiver skips block bytes
 *       it does not know), or after the variable part of a body. A receiver ignores unknown
 *       trailing bytes of a block and of a body; it requires a block at least as long as the one
 *       it knows. New flag bits may be added; unknown flag bits are ignored.</li>
 *   <li>Anything else (removing, resizing, reordering or re-meaning a field, a header change) is a
 *       breaking change: bump the version. A receiver drops frames of a version it does not speak
 *       and counts them under {@link io.ringraft.transport.aeron.DropReason#UNSUPPORTED_VERSION}.</li>
 *   <li>New message types take new type codes; a receiver that does not know a type drops it
 *       ({@link io.ringraft.transport.aeron.DropReason#UNKNOWN_TYPE}).</li>
 * </ul>
 *
 * <h2>Size limit</h2>
 * A message must fit the configured {@code maxMessageLength} (at most Aeron's limit of a
 * term length / 8). The sender of an AppendEntries chooses its batch so that it fits (see
 * {@link io.ringraft.transport.aeron.WireFormat#appendEntriesLength(int, long)}); the encoder
 * rejects a larger message with {@link io.ringraft.transport.aeron.MessageTooLargeException}, which
 * {@link io.ringraft.transport.aeron.AeronRaftNetwork#send} lets through: it is a programming
 * error of the caller, not a network condition, and no {@link io.ringraft.network.RaftNetwork}
 * result code means it.
 */
package io.ringraft.transport.aeron;
