"""The monitor: ICMP probing, the pure decision core, the tick loop, the demo cafe."""
