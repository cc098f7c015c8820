package io.ringraft.network;

/**
 * The answer to a {@link VoteRequest}.
 *
 * @param from    the voter
 * @param to      the candidate
 * @param term    the voter's term (for a granted pre-vote: the term the pre-vote asked about)
 * @param granted whether the vote (or pre-vote) is granted
 * @param preVote true if it answers a pre-vote
 */
public record VoteResponse(long from, long to, long term, boolean granted, boolean preVote) implements RaftMessage
{
}
