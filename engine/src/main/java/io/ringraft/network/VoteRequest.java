package io.ringraft.network;

import io.ringraft.LogId;

/**
 * RequestVote (Raft §5.2), or a pre-vote (Raft thesis §9.6) that asks whether a vote would be
 * granted in {@code term} without anyone changing term.
 *
 * @param from      the candidate
 * @param to        the voter
 * @param term      the term the candidate stands in (current term + 1 for a pre-vote)
 * @param lastLogId the candidate's last log id, for the up-to-date check (§5.4.1)
 * @param preVote   true for a pre-vote
 * @param transfer  true when a leader transfer ordered this election: voters then grant even
 *                  while they still hear from the current leader
 */
public record VoteRequest(long from, long to, long term, LogId lastLogId, boolean preVote, boolean transfer) implements RaftMessage
{
}
