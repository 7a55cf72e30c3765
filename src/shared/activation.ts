/** Elementwise nonlinearities of the supported MLPs (config.json's hidden_act, normalised). */
export type Activation = 'silu' | 'gelu_tanh' | 'gelu' | 'relu';
