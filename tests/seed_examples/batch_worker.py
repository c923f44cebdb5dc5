import asyncio
from rmg_similarity import SimilarityGrader
from rmg_relevance import RelevanceGrader
from rmg_core import GraderResult, GraderScore, GraderRank, GraderError
from rmg_core import GradingRunner

async def rm_gallery_batch_eval_worker():
    """
    Worker function that performs batch evaluation using GradingRunner.

    This approach is more efficient than individual evaluation because:
    1. It processes multiple traces in batches
    2. It leverages concurrent execution of graders
    3. It reduces the number of API calls to Langfuse
    """
    # Initialize graders with runner for batch processing
    # The GradingRunner manages concurrent execution and batching
    runner = GradingRunner(
        grader_configs={
            "similarity": SimilarityGrader(algorithm="cosine"),
            "relevance": RelevanceGrader(),
        },
        max_concurrency=10  # Control how many graders run concurrently
    )

    # Simulate fetching pending trace data
    # In a real implementation, you would fetch actual traces from Langfuse
    traces = fetch_pending_traces()  # This is a sample function that needs to be implemented based on actual requirements

    # Prepare evaluation data in batch format
    # This transforms the trace data into the format expected by GradingRunner
    evaluation_data = []
    trace_mapping = {}  # Map data indices to trace IDs for result tracking

    for i, trace in enumerate(traces):
        trace_id = trace["id"]
        input_data = trace["input"]
        output_data = trace["output"]
        expected_data = trace.get("expected")

        # Prepare data for RM-Gallery evaluation
        # Each item needs to match the expected input format of the graders
        eval_item = {
            "input": input_data,
            "prediction": output_data,
        }

        # Add reference if available
        if expected_data:
            eval_item["reference"] = expected_data

        evaluation_data.append(eval_item)
        trace_mapping[i] = trace_id

    # Check if there's any data to evaluate
    if not evaluation_data:
        print("No traces to evaluate")
        return

    try:
        # Execute RM-Gallery batch evaluation
        # This is where the performance benefit comes from - all data is processed together
        batch_results = await runner.arun(evaluation_data)

        # Process and send results to Langfuse
        # Iterate through results and send them back to Langfuse
        for grader_name, grader_results in batch_results.items():
            for i, result in enumerate(grader_results):
                trace_id = trace_mapping[i]

                # Handle different result types appropriately
                if isinstance(result, GraderScore):
                    langfuse.score(
                        trace_id=trace_id,
                        name=grader_name,
                        value=result.score,
                        comment=getattr(result, 'reason', '')
                    )
                elif isinstance(result, GraderRank):
                    langfuse.score(
                        trace_id=trace_id,
                        name=grader_name,
                        value=getattr(result, 'rank', 0),
                        comment=getattr(result, 'reason', '')
                    )
                elif isinstance(result, GraderError):
                    langfuse.score(
                        trace_id=trace_id,
                        name=grader_name,
                        value=0.0,
                        comment=f"Error: {result.error}"
                    )

        print(f"Successfully evaluated {len(traces)} traces with {len(batch_results)} graders")

    except Exception as e:
        # Handle any errors during batch evaluation
        print(f"Error in batch evaluation: {str(e)}")

# Run batch evaluation worker
# This executes the more efficient batch evaluation process
if __name__ == "__main__":
    asyncio.run(rm_gallery_batch_eval_worker())
