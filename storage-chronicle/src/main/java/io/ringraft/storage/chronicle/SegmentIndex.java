package io.ringraft.storage.chronicle;

import java.util.Arrays;

/**
 * The in-memory map from a Raft index to where it lies: the segment table (segment {@code s} is
 * cycle {@code cycle(s)}, whose sequence 0 holds index {@code first(s)} and whose frames start at
 * frame {@code firstFrame(s)}) and the frame table (the first index of every written frame), 8
 * bytes per frame. Rebuilt by the scan on open; one thread uses it.
 */
final class SegmentIndex
{
    private long[] frameFirst = new long[1024];
    private int frameCount;
    private int[] segmentCycles = new int[16];
    private long[] segmentFirst = new long[16];
    private int[] segmentFrame = new int[16];
    private int segmentCount;

    int count()
    {
        return segmentCount;
    }

    int cycle(final int segment)
    {
        return segmentCycles[segment];
    }

    long first(final int segment)
    {
        return segmentFirst[segment];
    }

    int firstFrame(final int segment)
    {
        return segmentFrame[segment];
    }

    /** @return one past the last frame of {@code segment} */
    int frameEnd(final int segment)
    {
        return segment + 1 < segmentCount ? segmentFrame[segment + 1] : frameCount;
    }

    int frameCount()
    {
        return frameCount;
    }

    long frameFirst(final int frame)
    {
        return frameFirst[frame];
    }

    /** @return true if the newest segment is {@code cycle} */
    boolean lastIs(final int cycle)
    {
        return segmentCount > 0 && segmentCycles[segmentCount - 1] == cycle;
    }

    /** @return the last index of {@code segment}, given the log's last index */
    long last(final int segment, final long lastIndex)
    {
        return segment + 1 < segmentCount ? segmentFirst[segment + 1] - 1 : lastIndex;
    }

    /** @return how many leading segments hold only entries {@code <= upTo} */
    int purgeable(final long upTo, final long lastIndex)
    {
        int purgeable = 0;
        while (purgeable < segmentCount && last(purgeable, lastIndex) <= upTo)
        {
            purgeable++;
        }
        return purgeable;
    }

    void addSegment(final int cycle, final long firstIndex)
    {
        if (segmentCount == segmentCycles.length)
        {
            segmentCycles = Arrays.copyOf(segmentCycles, segmentCount * 2);
            segmentFirst = Arrays.copyOf(segmentFirst, segmentCount * 2);
            segmentFrame = Arrays.copyOf(segmentFrame, segmentCount * 2);
        }
        segmentCycles[segmentCount] = cycle;
        segmentFirst[segmentCount] = firstIndex;
        segmentFrame[segmentCount] = frameCount;
        segmentCount++;
    }

    void addFrame(final long firstIndex)
    {
        if (frameCount == frameFirst.length)
        {
            frameFirst = Arrays.copyOf(frameFirst, frameCount * 2);
        }
        frameFirst[frameCount++] = firstIndex;
    }

    /** @return the segment holding {@code index}, which must be in the log */
    int segmentOf(final long index)
    {
        int low = 0;
        int high = segmentCount - 1;
        while (low < high)
        {
            final int mid = (low + high + 1) >>> 1;
            if (segmentFirst[mid] <= index)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }
        return low;
    }

    /** @return the written frame of {@code segment} holding {@code index} */
    int frameOf(final int segment, final long index)
    {
        int low = segmentFrame[segment];
        int high = frameEnd(segment) - 1;
        while (low < high)
        {
            final int mid = (low + high + 1) >>> 1;
            if (frameFirst[mid] <= index)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }
        return low;
    }

    /** Forgets the newest segment if it is {@code cycle} and has no written frame. */
    void dropEmptyLast(final int cycle)
    {
        if (lastIs(cycle) && segmentFrame[segmentCount - 1] == frameCount)
        {
            segmentCount--;
        }
    }

    /** Forgets {@code segment} and every segment after it (their cycle files were rewritten or deleted). */
    void truncate(final int segment)
    {
        frameCount = segmentFrame[segment];
        segmentCount = segment;
    }

    /** Counts {@code count} more frames whose first indexes are already in the frame table (a rewrite kept them). */
    void keepFrames(final int count)
    {
        frameCount += count;
    }

    /** Forgets the first {@code count} segments and their frames (their cycle files were deleted). */
    void dropLeading(final int count)
    {
        final int droppedFrames = count < segmentCount ? segmentFrame[count] : frameCount;
        System.arraycopy(frameFirst, droppedFrames, frameFirst, 0, frameCount - droppedFrames);
        frameCount -= droppedFrames;
        System.arraycopy(segmentCycles, count, segmentCycles, 0, segmentCount - count);
        System.arraycopy(segmentFirst, count, segmentFirst, 0, segmentCount - count);
        System.arraycopy(segmentFrame, count, segmentFrame, 0, segmentCount - count);
        segmentCount -= count;
        for (int i = 0; i < segmentCount; i++)
        {
            segmentFrame[i] -= droppedFrames;
        }
    }
}
