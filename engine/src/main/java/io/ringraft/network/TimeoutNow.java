package io.ringraft.network;

/**
 * Leader transfer (Raft thesis §3.10): the leader tells an up-to-date follower to start an
 * election at once.
 *
 * @param from the leader
 * @param to   the transfer target
 * @param term the leader's term
 */
public record TimeoutNow(long from, long to, long term) implements RaftMessage
{
}
