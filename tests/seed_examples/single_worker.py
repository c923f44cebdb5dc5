import asyncio
from rmg_similarity import SimilarityGrader
from rmg_relevance import RelevanceGrader
from rmg_core import GraderResult, GraderScore, GraderRank, GraderError

async def rm_gallery_eval_worker():
    """
    Worker function that evaluates Langfuse traces using RM-Gallery graders.

    This function demonstrates the basic pattern of fetching traces,
    evaluating them with individual graders, and sending results back to Langfuse.
    """
    # Initialize graders
    # These are individual RM-Gallery graders that will be used for evaluation
    similarity_grader = SimilarityGrader(algorithm="cosine")
    relevance_grader = RelevanceGrader()

    # Simulate fetching pending trace data
    # In a real implementation, you would fetch actual traces from Langfuse
    traces = fetch_pending_traces()  # This is a sample function that needs to be implemented based on actual requirements

    # Process each trace individually
    for trace in traces:
        # Extract trace information
        trace_id = trace["id"]
        input_data = trace["input"]
        output_data = trace["output"]
        expected_data = trace.get("expected")

        try:
            # Execute RM-Gallery evaluation with individual graders
            # Each grader is called separately, which is simple but not optimal for performance
            sim_result: GraderResult = await similarity_grader.aevaluate(
                prediction=output_data,
                reference=expected_data
            )

            rel_result: GraderResult = await relevance_grader.aevaluate(
                prediction=output_data,
                input=input_data
            )

            # Convert RM-Gallery results to Langfuse scores
            # Each result type needs to be handled differently
            if isinstance(sim_result, GraderScore):
                langfuse.score(
                    trace_id=trace_id,
                    name="cosine_similarity",
                    value=sim_result.score,
                    comment=getattr(sim_result, 'reason', '')
                )
            elif isinstance(sim_result, GraderError):
                langfuse.score(
                    trace_id=trace_id,
                    name="cosine_similarity",
                    value=0.0,
                    comment=f"Error: {sim_result.error}"
                )

            if isinstance(rel_result, GraderScore):
                langfuse.score(
                    trace_id=trace_id,
                    name="relevance",
                    value=rel_result.score,
                    comment=getattr(rel_result, 'reason', '')
                )
            elif isinstance(rel_result, GraderError):
                langfuse.score(
                    trace_id=trace_id,
                    name="relevance",
                    value=0.0,
                    comment=f"Error: {rel_result.error}"
                )

            print(f"Successfully evaluated trace {trace_id}")

        except Exception as e:
            # Handle any errors during evaluation
            print(f"Error evaluating trace {trace_id}: {str(e)}")
            continue

# Run evaluation worker
# This executes the evaluation process
if __name__ == "__main__":
    asyncio.run(rm_gallery_eval_worker())
