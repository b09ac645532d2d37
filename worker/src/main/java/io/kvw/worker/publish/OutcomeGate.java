package io.kvw.worker.publish;

/**
 * Where publishing meets the commit cycle. With at-least-once delivery ({@link #DIRECT}) an
 * outcome is sent at once and a failed send is sent again later. With exactly-once
 * ({@link TransactionCycle}) sends go into the open transaction and never overlap its commit,
 * and a failed send dooms the transaction instead (it aborts, and its records are redone).
 */
public interface OutcomeGate {

  /**
   * Runs the sends of one outcome. The body checks that its record is still ours and sends; a
   * gate that commits transactions runs no body while it commits or gives records back.
   */
  void send(Runnable sends);

  /** A send failed after the producer's own retries. Returns true to send it again later. */
  boolean failed(Exception e);

  /** Sends at once; a failed send is sent again. */
  OutcomeGate DIRECT = new OutcomeGate() {
    @Override
    public void send(Runnable sends) {
      sends.run();
    }

    @Override
    public boolean failed(Exception e) {
      return true;
    }
  };
}
