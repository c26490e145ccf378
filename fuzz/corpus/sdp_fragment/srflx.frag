m=video 9 UDP/TLS/RTP/SAVPF 96
a=mid:1
a=candidate:3 1 udp 1686052607 203.0.113.9 61000 typ srflx raddr 10.0.0.2 rport 61000
