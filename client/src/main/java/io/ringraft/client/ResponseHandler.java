package io.ringraft.client;

import org.agrona.DirectBuffer;

/** Receives the outcome of each command offered with {@link RingraftClient#offer}, from inside {@link RingraftClient#poll()}. */
@FunctionalInterface
public interface ResponseHandler
{
    /**
     * @param sequence  the sequence {@link RingraftClient#offer} returned
     * @param outcome   an {@link Outcome} code
     * @param duplicate true if the cluster had applied the command before and answered from its cache
     * @param index     the log index of the command (0 if unknown)
     * @param response  the service's response for {@link Outcome#OK}, the reason (UTF-8) for
     *                  {@link Outcome#REJECTED}; valid only during the call
     * @param offset    where it starts
     * @param length    its length (0 for other outcomes)
     */
    void onResponse(long sequence, int outcome, boolean duplicate, long index, DirectBuffer response, int offset, int length);
}
