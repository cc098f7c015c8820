package io.ringraft.engine;

import io.ringraft.Membership;

import java.util.ArrayList;
import java.util.Arrays;

/**
 * The memberships in the log. The effective one is the last appended, committed or not (Raft §6:
 * a server uses the latest configuration in its log); a truncation reverts to the one before.
 */
final class MembershipLog
{
    private final ArrayList<Membership> memberships = new ArrayList<>();
    private long[] indexes = new long[4];
    private Membership base;
    private long baseIndex;

    /**
     * @param base      the membership in force before the first entry kept in the log (from a snapshot), or null
     * @param baseIndex the index it was established at
     */
    MembershipLog(final Membership base, final long baseIndex)
    {
        this.base = base;
        this.baseIndex = baseIndex;
    }

    void append(final long index, final Membership membership)
    {
        if (memberships.size() == indexes.length)
        {
            indexes = Arrays.copyOf(indexes, indexes.length * 2);
        }
        indexes[memberships.size()] = index;
        memberships.add(membership);
    }

    /** @return the effective membership, or null before the cluster is initialized */
    Membership effective()
    {
        return memberships.isEmpty() ? base : memberships.get(memberships.size() - 1);
    }

    /** @return the index of the effective membership's entry */
    long effectiveIndex()
    {
        return memberships.isEmpty() ? baseIndex : indexes[memberships.size() - 1];
    }

    /** @return the last membership at or before {@code index} */
    Membership at(final long index)
    {
        for (int i = memberships.size() - 1; i >= 0; i--)
        {
            if (indexes[i] <= index)
            {
                return memberships.get(i);
            }
        }
        return base;
    }

    /** Drops the memberships of entries from {@code fromIndex} on. */
    void truncate(final long fromIndex)
    {
        while (!memberships.isEmpty() && indexes[memberships.size() - 1] >= fromIndex)
        {
            memberships.remove(memberships.size() - 1);
        }
    }

    /** Folds the memberships up to {@code index} into the base (after a purge or snapshot install). */
    void purge(final long index, final Membership membershipAtIndex)
    {
        int drop = 0;
        while (drop < memberships.size() && indexes[drop] <= index)
        {
            drop++;
        }
        if (drop > 0 || membershipAtIndex != null)
        {
            base = membershipAtIndex != null ? membershipAtIndex : memberships.get(drop - 1);
            baseIndex = membershipAtIndex != null ? index : indexes[drop - 1];
            memberships.subList(0, drop).clear();
            System.arraycopy(indexes, drop, indexes, 0, memberships.size());
        }
    }
}
