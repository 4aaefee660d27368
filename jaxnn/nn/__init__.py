"""Pure building blocks: activations, losses, layers, convolution, recurrent cells."""
