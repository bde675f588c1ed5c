//! Combined cases (一件事) and their parts — being written.
